"""Demo data for the front door (README "The front door"): hospital-to-home v2 adds referral
fields, eligibility, a risk stratification tool and a 4-hour safeguarding response; East
Harbour's referrals arrive through the partner API's own path, where East Harbour General's
discharge team keeps leaving out the discharge medication list, a few referrals are ineligible,
the partner's tier and the tool's disagree on some cases, and one safeguarding concern is
answered late. North gets two held referrals so its supervisor meets the front door too."""

import json
import random
from datetime import datetime, time, timedelta

from django.utils import timezone

from pathways.demo import FIXTURES
from pathways.models import Case
from pathways.services.exceptions import exception_report_compute
from pathways.services.ingest import case_events_ingest, case_upsert
from pathways.services.referrals import referral_accept
from pathways.services.versions import pathway_version_import

HOSPITAL = "East Harbour General discharge team"
SOURCES = [HOSPITAL, HOSPITAL, "Harbourside GP practice", "Community nursing East"]
FULL = {
    "discharge_medication_list": True,
    "discharge_summary": "Attached",
    "next_of_kin_contact": "Recorded",
    "gp_registered": True,
}
# (home_risk, medication_risk) answers and the tier the tool gives them (thresholds 2 and 5).
ANSWERS = [("low", "low"), ("medium", "low"), ("high", "medium"), ("high", "high")]


def _front_door_definition() -> dict:
    data = json.loads((FIXTURES / "hospital-to-home.json").read_text())
    extra = json.loads((FIXTURES / "front-door.json").read_text())
    data["steps"].append(extra.pop("safeguarding_step"))
    data.update(extra)
    return data


def seed_front_door(context) -> None:
    organization = context.organization
    version = pathway_version_import(
        data=_front_door_definition(),
        activate=True,
        created_by=context.users["admin"],
        rationale="Front door: what a complete referral carries, who the service is for, a risk "
        "stratification tool, and a safeguarding response within 4 hours.",
    )
    zone = organization.zone
    today = timezone.localdate(timezone=zone)
    now = timezone.now()
    rng = random.Random(21)
    east, north = context.sites["east"], context.sites["north"]
    sites = frozenset({east.pk, north.pk})
    events: list[dict] = []
    number = 0

    def refer(site, days_ago, source, referral, tier, housing="stable") -> tuple[str, datetime]:
        nonlocal number
        number += 1
        ref = f"{site.code[:1].upper()}-FD{number:03d}"
        referred = datetime.combine(
            today - timedelta(days=days_ago), time(9 + number % 8), tzinfo=zone
        )
        case_upsert(
            external_ref=ref,
            payload={
                "site": site.code,
                "pathway": version.pathway.slug,
                "referral_at": referred.isoformat(),
                "risk_tier": tier,
                "attributes": {"housing": housing, "rurality": "urban"},
                "referral_source": source,
                "referral": referral,
            },
            site_ids=sites,
        )
        return ref, referred

    def event(ref, type_, when, step=None, **data):
        if when < now:
            events.append(
                {
                    "id": f"fd-{len(events) + 1:05d}",
                    "case": ref,
                    "type": type_,
                    "occurred_at": when.isoformat(),
                    **({"step": step} if step else {}),
                    "data": data,
                }
            )

    held = []
    for index in range(36):
        days_ago = 58 - index * 1.5
        source = SOURCES[index % len(SOURCES)]
        referral = {**FULL, "age": 40 + index}
        if source == HOSPITAL and index % 8 != 0:
            # The hospital's referrals keep arriving without the medication list.
            referral = {k: v for k, v in referral.items() if k != "discharge_medication_list"}
        if index in (5, 17, 29):
            referral["age"] = 16  # children referred by mistake
        tier = rng.choice(["low", "medium", "high"])
        ref, referred = refer(east, int(days_ago), source, referral, tier)
        complete = "discharge_medication_list" in referral
        # Incomplete referrals take longer to reach intake: someone has to chase the list.
        intake = referred + timedelta(
            hours=rng.uniform(10, 30) if complete else rng.uniform(50, 90)
        )
        event(ref, "step_completed", intake, "intake")
        home, medication = ANSWERS[index % len(ANSWERS)]
        event(
            ref,
            "step_completed",
            intake + timedelta(hours=rng.uniform(20, 60)),
            "risk_assessment",
            complete=True,
            home_risk=home,
            medication_risk=medication,
        )
        if not complete or referral["age"] < 18:
            held.append(ref)
    # Safeguarding concerns at East: two answered within 4 hours, one late (4 h 40 min)
    # yesterday, so that it is on the latest report.
    for ref_number, (after, minutes) in zip((3, 11, 19), ((9, 10), (5, 20), (1, 280)), strict=True):
        ref = f"E-FD{ref_number:03d}"
        concern = datetime.combine(today - timedelta(days=after), time(10), tzinfo=zone)
        event(ref, "safeguarding_concern", concern)
        event(ref, "step_completed", concern + timedelta(minutes=minutes), "safeguarding_response")
    # North: one referral without its discharge summary, one for a person without a home.
    refer(
        north,
        2,
        "Riverside GP practice",
        {k: v for k, v in {**FULL, "age": 71}.items() if k != "discharge_summary"},
        "medium",
    )
    refer(north, 1, "North Riverside Hospital", {**FULL, "age": 66}, "high", housing="homeless")
    for start in range(0, len(events), 500):
        case_events_ingest(payload=events[start : start + 500], site_ids=sites)
    # The lead took one held referral in as it was.
    accepted = Case.objects.get(external_ref=held[0])
    referral_accept(
        case=accepted,
        reason="Medication list confirmed with the ward pharmacist by phone.",
        by=context.users["lead"],
        now=now,
    )
    exception_report_compute(organization=organization, date=today - timedelta(days=1))
    context.say(
        f"front door: {version} active; {number} referrals through the API "
        f"({len(held)} held at East), {len(events)} events"
    )
