"""The oracle of section 3 still agrees on pilots: a pilot case's obligations, computed by the
engine, follow the pilot definition, and a network case's the network definition, both equal to
an independent reading of DESIGN.md section 3 (tests/pathways/section3_reference.py) that never
calls the engine. The same events on both cases: only the definition each case is pinned to
differs."""

from datetime import UTC, datetime, timedelta

from pathways.models import Case
from pathways.selectors.exceptions import case_obligations
from scaling_ops import tenancy
from tests.pathways.exception_helpers import event
from tests.pathways.section3_reference import reference_obligations
from tests.pathways.test_pilots import (  # noqa: F401 (fixtures used here)
    network,
    north_key,
    pilot,
    pilot_version,
    piloted_definition,
    put_case,
)
from tests.pathways.version_helpers import with_adaptable_step

REFERRAL = datetime(2026, 3, 2, 9, tzinfo=UTC)
CUTOFF = datetime(2026, 3, 31, tzinfo=UTC)
# (hours after referral, type, step, data): a tier change, a late intake for the pilot's 24 hours
# (on time for the network's 48), an incomplete assessment then a complete one, missed contacts
# with follow-ups (one late, one met), an escalation met, a last missed contact with no
# follow-up, and a closure that voids what falls due after it.
STORY = [
    (20, "risk_tier_changed", "", {"risk_tier": "high"}),
    (30, "step_completed", "intake", {}),
    (40, "step_completed", "risk_assessment", {"home_risk": "low"}),
    (110, "step_completed", "risk_assessment", {"home_risk": "low", "medication_risk": "high"}),
    (120, "contact_missed", "", {}),
    (150, "contact_missed", "", {}),
    (160, "step_completed", "follow_up", {}),
    (170, "escalation_raised", "", {}),
    (200, "step_completed", "weekly_review", {}),
    (300, "contact_missed", "", {}),
    (320, "case_closed", "", {}),
]


def story(case) -> list[dict]:
    events = []
    for hours, type_, step, data in STORY:
        at = REFERRAL + timedelta(hours=hours)
        event(case, type_, at, step, **data)
        events.append({"type": type_, "occurred_at": at, "step": step, "data": data})
    return events


def comparable(rows) -> list[tuple]:
    return sorted(
        (row["source"], row["step"], row["anchor_at"], row["due_at"], row["completed_at"],
         row["status"])
        for row in rows
    )  # fmt: skip


def test_engine_obligations_follow_each_cases_pinned_definition_as_section_3_reads(
    personas,
    pilot,  # noqa: F811 (the fixture)
    north_key,  # noqa: F811 (the fixture)
):
    put_case(north_key, "P-1", referral_at=REFERRAL.isoformat(), risk_tier="medium")
    put_case(north_key, "N-1", site="south", referral_at=REFERRAL.isoformat(), risk_tier="medium")
    engine, events = {}, {}
    with tenancy.scope(personas.org):
        for ref in ("P-1", "N-1"):
            case = Case.objects.get(external_ref=ref)
            events[ref] = story(case)
            engine[ref] = comparable(case_obligations(case=case, at=CUTOFF))
        assert Case.objects.get(external_ref="P-1").version_id == pilot.version_id

    def reference(definition, ref):
        return comparable(
            reference_obligations(
                definition,
                referral_at=REFERRAL,
                risk_tier="medium",
                events=events[ref],
                cutoff=CUTOFF,
            )
        )

    assert engine["P-1"] == reference(piloted_definition(), "P-1")
    assert engine["N-1"] == reference(with_adaptable_step(), "N-1")
    # The two definitions part on this story, so the agreement above is not by chance.
    assert engine["P-1"] != reference(with_adaptable_step(), "P-1")
    statuses = {(row[1], row[2] - REFERRAL): row[5] for row in engine["P-1"]}
    assert statuses[("intake", timedelta(0))] == "late"  # 30h against the pilot's 24h
    assert {(row[1], row[5]) for row in engine["N-1"]} >= {
        ("intake", "met"),
        ("risk_assessment", "late"),
        ("follow_up", "late"),
        ("follow_up", "met"),
        ("repeated-missed-contacts", "met"),
        ("weekly_review", "met"),
        ("follow_up", "void"),
    }
