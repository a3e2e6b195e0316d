"""Demo data for pathways: two pathways, ~6 months of cases and events with realistic slippage,
delivered in arrival order so late-arriving events reach already-computed reports, and the
daily exception reports computed day by day as the service would have."""

import json
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pathways.assignees import user_key
from pathways.models import Case, ExceptionItem, Pathway
from pathways.services import bulk_load
from pathways.services.exception_triage import (
    exception_items_bulk_accept,
    exception_items_bulk_assign,
    exception_items_bulk_resolve,
)
from pathways.services.exceptions import exception_report_compute
from pathways.services.versions import (
    pathway_version_import,
    site_adaptation_decide,
    site_adaptation_propose,
)
from pathways.synthetic import Generator, SiteProfile
from scaling_ops.dates import month_add

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PATHWAY_FILES = ["hospital-to-home.json", "behavioural-health-continuity.json"]
# Six months: three before the pressure months of section 4a, so the surge can be assessed.
DEMO_DAYS = 183
# Daily exception reports for the last three months only: enough for the queue's history.
REPORT_DAYS = 92
# North holds the model; South drifts (worse every month) and people with a language need fall
# further behind there; East is launching with a handful of pilot cases.
SITE_PROFILES = [
    SiteProfile(
        "north",
        7.0,
        late_share_start=0.06,
        late_share_end=0.08,
        language_gap_start=0.02,
        language_gap_end=0.04,
    ),
    SiteProfile(
        "south",
        5.0,
        late_share_start=0.10,
        late_share_end=0.34,
        missed_share=0.06,
        language_gap_start=0.04,
        language_gap_end=0.22,
    ),
    SiteProfile("east", 0.6, late_share_start=0.15, late_share_end=0.15),
]


def pressure_months(today) -> tuple:
    """The two complete months before last (e.g. September and October when today is in
    December): South's referral surge and staffing gap, North's smaller surge."""
    this_month = today.replace(day=1)
    return month_add(this_month, -3), month_add(this_month, -1)


def pressure_profiles(today, zone) -> list[SiteProfile]:
    """South: referrals about 1.6x for two months while a leaver is not replaced, so intake
    slips (late share up 0.3); North: a smaller surge (1.3x) that it absorbs."""
    first, after = pressure_months(today)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(after, time(0), tzinfo=zone)
    surges = {"south": ((start, end, 1.6, 0.3),), "north": ((start, end, 1.3, 0.0),)}
    return [replace(p, surges=surges.get(p.code, ())) for p in SITE_PROFILES]


def seed_pathways(context) -> None:
    say = context.say
    definitions = []
    for name in PATHWAY_FILES:
        data = json.loads((FIXTURES / name).read_text())
        # Each demo pathway carries its complete replication package.
        package = json.loads((FIXTURES / "packages" / name).read_text())
        version = pathway_version_import(
            data={**data, "package": package},
            activate=True,
            created_by=context.users["admin"],
            rationale="Pilot model, adopted as the network standard.",
        )
        definitions.append(data)
        say(f"pathway {version}")
    context.extra["definitions"] = definitions
    _north_adaptation(context)


def _north_adaptation(context) -> None:
    """North's approved adaptation of an adaptable step: its weekly review becomes fortnightly
    by phone for people on the islands, so North's new cases follow its variant."""
    pathway = Pathway.objects.get(slug="hospital-to-home")
    adaptation = site_adaptation_propose(
        site=context.sites["north"],
        pathway=pathway,
        step_key="weekly_review",
        what="The weekly review is a fortnightly phone review for people living on the islands.",
        why="Ferry times make a weekly home review impossible for a third of North's caseload.",
        by=context.users["lead"],
        standard_hours=[336],
        script="Call on the morning of a ferry day; review the care plan goals one by one and "
        "book the next in-person visit for the next ferry.",
    )
    site_adaptation_decide(adaptation=adaptation, approve=True, by=context.users["admin"])
    variant = pathway.versions.get(variant_site=context.sites["north"], status="variant")
    context.say(f"North's adaptation of weekly_review approved: its new cases follow {variant}")


def seed_cases_and_reports(context) -> None:
    say = context.say
    organization = context.organization
    zone = organization.zone
    today = timezone.localdate(timezone=zone)
    start = datetime.combine(today - timedelta(days=DEMO_DAYS), time(0), tzinfo=zone)
    now = timezone.now()
    generator = Generator(
        context.extra["definitions"], pressure_profiles(today, zone), start, now, seed=2026,
        # A piloted change that prompts escalations (set by the learning app's pilot, if any).
        escalation_prompted=context.extra.get("escalation_prompted"),
    )  # fmt: skip
    cases, events = [], []
    for case, case_events in generator.cases():
        cases.append(case)
        events.extend(case_events)
    case_ids = bulk_load.cases_bulk_load(cases=cases)
    # As in life, each case was created at its referral, not all a moment ago: a case edited
    # since the previous report is evaluated again, so a fresh timestamp on every case made
    # each of the 91 daily reports evaluate every case instead of the day's changes.
    Case.objects.filter(pk__in=list(case_ids.values())).update(
        created_at=F("referral_at"), updated_at=F("referral_at")
    )
    say(f"{len(case_ids)} cases referred over {DEMO_DAYS} days")

    # Deliver events in the order they reached us and compute each day's report an hour after
    # its cutoff, so events that arrive days late land on reports already computed.
    events.sort(key=lambda event: event.occurred_at + event.delay)
    delivered = 0
    report_days = [
        today - timedelta(days=offset) for offset in range(min(DEMO_DAYS, REPORT_DAYS) - 1, 0, -1)
    ]
    context.progress("daily reports", 0, len(report_days))
    for number, day in enumerate(report_days, start=1):
        computed_at = datetime.combine(day + timedelta(days=1), time(1), tzinfo=zone)
        batch = []
        while delivered < len(events) and (
            events[delivered].occurred_at + events[delivered].delay <= computed_at
        ):
            batch.append(events[delivered])
            delivered += 1
        bulk_load.events_bulk_load(events=batch, case_ids=case_ids)
        exception_report_compute(organization=organization, date=day)
        context.progress("daily reports", number, len(report_days))
    bulk_load.events_bulk_load(events=events[delivered:], case_ids=case_ids)
    exception_report_compute(organization=organization, date=report_days[-1])
    say(f"{len(events)} events; daily reports computed for {len(report_days)} days")
    _triage_older_items(context, today)


def _triage_older_items(context, today) -> None:
    """Supervisors have worked the older part of the queue; the last days are still open."""
    supervisor = context.users["supervisor"]
    items = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN).order_by(
        "first_reported_on", "id"
    )
    to_resolve, to_accept, to_assign = _triage_rounds(list(items), today)
    # The queue's bulk actions: one UPDATE, one history INSERT and one update of the stored
    # report summaries per action, where an action per item regrouped every summary once per
    # item (a fifth of the seed's CPU time).
    with transaction.atomic():
        exception_items_bulk_resolve(
            items=to_resolve,
            by=supervisor,
            note="Discussed at huddle; visit rebooked and practitioner coached.",
        )
        exception_items_bulk_accept(
            items=to_accept,
            by=supervisor,
            reason="Person in hospital at the time; contact not possible.",
        )
        exception_items_bulk_assign(items=to_assign, by=supervisor, assignee=user_key(supervisor))
    worked = len(to_resolve) + len(to_accept) + len(to_assign)
    context.say(f"{worked} older exceptions triaged by the supervisor")


def _triage_rounds(items, today) -> tuple[list, list, list]:
    """Which of ``items`` (in queue order) the supervisor resolved, accepted and assigned: the
    older ones in a fixed pattern, so every seed works the same items."""
    to_resolve, to_accept, to_assign = [], [], []
    for index, item in enumerate(items):
        age = (today - item.first_reported_on).days
        if age > 10 and index % 3 == 0:
            to_resolve.append(item)
        elif age > 10 and index % 7 == 1:
            to_accept.append(item)
        elif age > 3 and index % 5 == 2:
            to_assign.append(item)
    return to_resolve, to_accept, to_assign
