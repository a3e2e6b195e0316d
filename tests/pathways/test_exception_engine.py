"""DESIGN.md section 3, rule by rule, on small hand-built timelines (pure pandas, no database).

Times are written as ``at(day, hour)`` from midnight UTC on 1 March 2026; every case is referred
at ``at(0, 9)`` unless a test says otherwise. Event pks follow the order the events are listed.
"""

import pandas as pd
import pytest

from pathways import engine
from pathways.definitions import parse_definition

DEFINITION = parse_definition(
    {
        "slug": "h2h",
        "name": "Hospital to home",
        "steps": [
            {
                "key": "intake",
                "name": "Intake",
                "kind": "intake",
                "time_standards": [{"anchor": "referral", "within_hours": 48}],
            },
            {
                "key": "risk",
                "name": "Risk assessment",
                "kind": "assessment",
                "required_fields": ["home"],
                "time_standards": [{"anchor": "step:intake", "within_hours": 72}],
            },
            {
                "key": "plan",
                "name": "Care plan",
                "kind": "review",
                "time_standards": [{"anchor": "step:risk", "within_hours": 24}],
            },
            {
                "key": "visit",
                "name": "Home visit",
                "kind": "touchpoint",
                "time_standards": [{"tiers": ["high"], "anchor": "referral", "within_hours": 24}],
            },
            {
                "key": "follow_up",
                "name": "Follow-up",
                "kind": "touchpoint",
                "time_standards": [
                    {"tiers": ["high"], "anchor": "contact_missed", "within_hours": 24}
                ],
            },
            {
                "key": "review",
                "name": "Escalation review",
                "kind": "review",
                "time_standards": [{"anchor": "escalation_raised", "within_hours": 12}],
            },
        ],
        "escalation_rules": [
            {
                "key": "missed",
                "tiers": ["medium", "high"],
                "missed_contacts": 2,
                "window_hours": 168,
                "escalate_within_hours": 24,
            }
        ],
    }
)
DEFINITIONS = {1: DEFINITION}
DAY0 = pd.Timestamp("2026-03-01T00:00:00Z")
SECOND = pd.Timedelta(seconds=1)
INTAKE = "step:intake/0@referral"
RISK = "step:risk/0@step:intake"
PLAN = "step:plan/0@step:risk"
VISIT = "step:visit/0@referral"


def at(day: int, hour: float = 0) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(days=day, hours=hour)


REFERRAL = at(0, 9)


# Events as (type, occurred_at, step, data); ``timeline`` gives them pks and a case.
def completed(step: str, when: pd.Timestamp, **data) -> tuple:
    return ("step_completed", when, step, data)


def missed(when: pd.Timestamp) -> tuple:
    return ("contact_missed", when, None, {})


def escalated(when: pd.Timestamp) -> tuple:
    return ("escalation_raised", when, None, {})


def tier_changed(tier: str, when: pd.Timestamp) -> tuple:
    return ("risk_tier_changed", when, None, {"risk_tier": tier})


def closed(when: pd.Timestamp) -> tuple:
    return ("case_closed", when, None, {})


def timeline(*events, tier="low", case_id=1, first_pk=1, referral_at=REFERRAL):
    cases = pd.DataFrame([(case_id, 1, referral_at, tier)], columns=engine.CASE_COLUMNS)
    rows = [
        (pk, case_id, type_, step, when, data)
        for pk, (type_, when, step, data) in enumerate(events, start=first_pk)
    ]
    return cases, pd.DataFrame(rows, columns=engine.EVENT_COLUMNS)


def _value(value):
    return None if pd.isna(value) else value


def obligations(cutoff, *events, tier="low", steps=None) -> dict:
    """{obligation_key: (status, anchor_at, due_at, completed_at)}, optionally for some steps."""
    result = engine.compute_obligations(*timeline(*events, tier=tier), DEFINITIONS, cutoff)
    return {
        row.obligation_key: (row.status, row.anchor_at, row.due_at, _value(row.completed_at))
        for row in result.itertuples()
        if steps is None or row.step in steps
    }


def report(day: int, *events, tier="low") -> list[tuple]:
    """The daily report for [at(day), at(day + 1)) as (key, kind, due_at, completed_at)."""
    cases, frame = timeline(*events, tier=tier)
    result = engine.daily_report(cases, frame, DEFINITIONS, at(day), at(day + 1))
    return [
        (row.obligation_key, row.kind, _value(row.due_at), _value(row.completed_at))
        for row in result.itertuples()
    ]


# --- anchors -------------------------------------------------------------------------------


def test_referral_anchor_is_pending_until_its_due_time():
    assert obligations(at(2, 8)) == {INTAKE: ("pending", REFERRAL, at(2, 9), None)}


def test_referral_anchor_is_overdue_when_due_equals_the_cutoff():
    assert obligations(at(2, 9)) == {INTAKE: ("overdue", REFERRAL, at(2, 9), None)}


def test_step_anchor_starts_at_the_first_completion_of_the_upstream_step():
    events = [completed("intake", at(1)), completed("intake", at(1, 5))]
    assert obligations(at(5), *events) == {
        INTAKE: ("met", REFERRAL, at(2, 9), at(1)),
        RISK: ("overdue", at(1), at(4), None),
    }


def test_step_anchor_on_an_assessment_starts_at_its_first_complete_record():
    events = [
        completed("risk", at(1), complete=False, home="ok"),
        completed("risk", at(2), home="ok"),
    ]
    assert obligations(at(4), *events, steps={"plan"}) == {
        PLAN: ("overdue", at(2), at(3), None),
    }


def test_contact_missed_anchor_creates_one_obligation_per_event():
    events = [missed(at(1)), missed(at(10)), completed("follow_up", at(1, 12))]
    assert obligations(at(12), *events, tier="high", steps={"follow_up"}) == {
        "step:follow_up/0@event:1": ("met", at(1), at(2), at(1, 12)),
        "step:follow_up/0@event:2": ("overdue", at(10), at(11), None),
    }


def test_event_anchor_is_completed_only_by_a_completion_strictly_after_it():
    events = [completed("follow_up", at(0, 12)), missed(at(1)), completed("follow_up", at(1))]
    result = obligations(at(3), *events, tier="high", steps={"follow_up"})
    assert result == {"step:follow_up/0@event:2": ("overdue", at(1), at(2), None)}


def test_escalation_raised_anchor_creates_an_obligation_per_escalation():
    events = [escalated(at(1)), completed("review", at(1, 13))]
    assert obligations(at(3), *events, steps={"review"}) == {
        "step:review/0@event:1": ("late", at(1), at(1, 12), at(1, 13)),
    }


def test_a_case_referred_after_the_cutoff_has_no_obligations():
    assert obligations(at(0, 8)) == {}


# --- risk tier at the anchor ------------------------------------------------------------------


def follow_ups_after_a_tier_change(change_at: pd.Timestamp, tier: str, new_tier: str) -> dict:
    return obligations(
        at(3), tier_changed(new_tier, change_at), missed(at(1)), tier=tier, steps={"follow_up"}
    )


def test_tier_change_before_the_anchor_applies():
    assert follow_ups_after_a_tier_change(at(0, 20), "low", "high") == {
        "step:follow_up/0@event:2": ("overdue", at(1), at(2), None)
    }


def test_tier_change_exactly_at_the_anchor_applies():
    assert follow_ups_after_a_tier_change(at(1), "low", "high") == {
        "step:follow_up/0@event:2": ("overdue", at(1), at(2), None)
    }


def test_tier_change_after_the_anchor_does_not_apply():
    assert follow_ups_after_a_tier_change(at(1) + SECOND, "low", "high") == {}


def test_tier_change_down_before_the_anchor_removes_the_standard():
    assert follow_ups_after_a_tier_change(at(0, 20), "high", "low") == {}


def test_tier_changes_at_the_same_instant_apply_in_event_pk_order():
    events = [tier_changed("low", at(0, 20)), tier_changed("high", at(0, 20)), missed(at(1))]
    cases, frame = timeline(*events)
    rows_reversed = frame.iloc[::-1]
    result = engine.compute_obligations(cases, rows_reversed, DEFINITIONS, at(3))
    assert result.loc[result["step"] == "follow_up", "obligation_key"].tolist() == [
        "step:follow_up/0@event:3"
    ]


# --- met, late, overdue, pending ----------------------------------------------------------------


def test_completion_exactly_at_due_is_met():
    result = obligations(at(4), completed("intake", at(2, 9)), steps={"intake"})
    assert result == {INTAKE: ("met", REFERRAL, at(2, 9), at(2, 9))}


def test_completion_one_second_after_due_is_late():
    result = obligations(at(4), completed("intake", at(2, 9) + SECOND), steps={"intake"})
    assert result == {INTAKE: ("late", REFERRAL, at(2, 9), at(2, 9) + SECOND)}


def test_events_after_the_cutoff_do_not_count():
    assert obligations(at(3), completed("intake", at(3) + SECOND)) == {
        INTAKE: ("overdue", REFERRAL, at(2, 9), None)
    }


def test_events_supplied_out_of_order_give_the_same_obligations():
    in_order = [completed("intake", at(1)), completed("risk", at(5), home="ok")]
    expected = {
        INTAKE: ("met", REFERRAL, at(2, 9), at(1)),
        RISK: ("late", at(1), at(4), at(5)),
        PLAN: ("overdue", at(5), at(6), None),
    }
    assert obligations(at(7), *in_order) == expected
    assert obligations(at(7), *reversed(in_order)) == expected


# --- closure ------------------------------------------------------------------------------------


def test_closure_between_anchor_and_due_voids_the_obligation():
    assert obligations(at(4), closed(at(1))) == {INTAKE: ("void", REFERRAL, at(2, 9), None)}


def test_closure_after_due_leaves_the_obligation_overdue():
    assert obligations(at(4), closed(at(3))) == {INTAKE: ("overdue", REFERRAL, at(2, 9), None)}


def test_closure_after_due_leaves_a_late_completion_late():
    events = [closed(at(3)), completed("intake", at(3, 1))]
    assert obligations(at(4), *events, steps={"intake"}) == {
        INTAKE: ("late", REFERRAL, at(2, 9), at(3, 1))
    }


def test_closure_after_the_cutoff_voids_nothing():
    assert obligations(at(2, 12), closed(at(2, 13))) == {
        INTAKE: ("overdue", REFERRAL, at(2, 9), None)
    }


def test_closure_voids_an_obligation_met_before_it_when_due_after_it():
    events = [completed("intake", at(1)), closed(at(1, 1))]
    assert obligations(at(4), *events, steps={"intake"}) == {
        INTAKE: ("void", REFERRAL, at(2, 9), at(1))
    }


# --- escalation rules -------------------------------------------------------------------------


def escalations(cutoff, *events, tier="medium") -> dict:
    return obligations(cutoff, *events, tier=tier, steps={"missed"})


def test_missed_contacts_exactly_a_window_apart_raise_an_escalation_obligation():
    assert escalations(at(10), missed(at(1)), missed(at(8))) == {
        "escalation:missed@event:2": ("overdue", at(8), at(9), None)
    }


def test_missed_contacts_one_second_outside_the_window_raise_nothing():
    assert escalations(at(10), missed(at(1)), missed(at(8) + SECOND)) == {}


def test_escalation_rule_applies_only_to_its_tiers():
    assert escalations(at(10), missed(at(1)), missed(at(2)), tier="low") == {}


def test_escalation_rule_takes_the_tier_at_the_nth_contact():
    events = [missed(at(1)), tier_changed("medium", at(2)), missed(at(2))]
    assert escalations(at(4), *events, tier="low") == {
        "escalation:missed@event:3": ("overdue", at(2), at(3), None)
    }


def test_escalation_is_met_by_the_first_escalation_strictly_after_the_anchor():
    events = [missed(at(1)), missed(at(2)), escalated(at(2)), escalated(at(2, 5))]
    assert escalations(at(4), *events) == {
        "escalation:missed@event:2": ("met", at(2), at(3), at(2, 5))
    }


def test_escalation_raised_after_its_due_time_is_late():
    events = [missed(at(1)), missed(at(2)), escalated(at(3, 1))]
    assert escalations(at(4), *events) == {
        "escalation:missed@event:2": ("late", at(2), at(3), at(3, 1))
    }


def test_no_second_escalation_obligation_while_the_first_is_open():
    events = [missed(at(1)), missed(at(2)), missed(at(3)), missed(at(4))]
    assert escalations(at(6), *events) == {
        "escalation:missed@event:2": ("overdue", at(2), at(3), None)
    }


def test_contacts_before_a_met_escalation_do_not_count_again():
    events = [missed(at(1)), missed(at(2)), missed(at(2, 5)), escalated(at(2, 6)), missed(at(3))]
    assert escalations(at(6), *events) == {
        "escalation:missed@event:2": ("met", at(2), at(3), at(2, 6))
    }


def test_contacts_after_a_met_escalation_start_the_next_obligation():
    events = [missed(at(1)), missed(at(2)), escalated(at(2, 6)), missed(at(3)), missed(at(4))]
    assert escalations(at(6), *events) == {
        "escalation:missed@event:2": ("met", at(2), at(3), at(2, 6)),
        "escalation:missed@event:5": ("overdue", at(4), at(5), None),
    }


# --- assessments --------------------------------------------------------------------------------

ASSESSMENT = [
    completed("intake", at(0, 10)),
    completed("risk", at(1), complete=False, home="ok"),
    completed("risk", at(4), complete=True, home="ok"),
]


def test_an_incomplete_assessment_leaves_its_step_open_until_a_complete_one():
    assert obligations(at(5), *ASSESSMENT, steps={"risk"}) == {
        RISK: ("late", at(0, 10), at(3, 10), at(4))
    }


def test_a_complete_assessment_before_due_after_an_incomplete_one_is_met():
    events = [*ASSESSMENT[:2], completed("risk", at(2), home="ok")]
    assert obligations(at(5), *events, steps={"risk"}) == {
        RISK: ("met", at(0, 10), at(3, 10), at(2))
    }


def test_an_incomplete_assessment_is_reported_while_it_stands():
    assert report(1, *ASSESSMENT) == [
        ("incomplete:risk@event:2", "incomplete_assessment", None, None)
    ]


def test_an_incomplete_assessment_is_gone_once_a_complete_one_arrives():
    assert report(4, *ASSESSMENT) == [
        (PLAN, "overdue_step", at(5), None),
        (RISK, "late_step", at(3, 10), at(4)),
    ]


def test_a_missing_required_field_makes_an_assessment_incomplete():
    events = [completed("intake", at(0, 10)), completed("risk", at(1), complete=True)]
    assert report(1, *events) == [("incomplete:risk@event:2", "incomplete_assessment", None, None)]
    assert obligations(at(2), *events, steps={"risk"}) == {
        RISK: ("pending", at(0, 10), at(3, 10), None)
    }


def test_complete_false_on_a_non_assessment_step_still_completes_it():
    result = obligations(at(3), completed("intake", at(1), complete=False), steps={"intake"})
    assert result == {INTAKE: ("met", REFERRAL, at(2, 9), at(1))}


def test_the_incomplete_item_is_keyed_by_the_first_incomplete_record_still_standing():
    events = [
        completed("risk", at(1), complete=False),
        completed("risk", at(1, 1), home="ok"),
        completed("risk", at(1, 2), complete=False),
        completed("risk", at(1, 3)),
    ]
    cases, frame = timeline(*events)
    result = engine.incomplete_assessments(cases, frame, DEFINITIONS, at(2))
    assert result.to_dict("records") == [
        {
            "case_id": 1,
            "obligation_key": "incomplete:risk@event:3",
            "step": "risk",
            "anchor_at": at(1, 2),
        }
    ]


# --- the daily report --------------------------------------------------------------------------


def test_a_late_completion_during_the_day_is_reported_as_late_step():
    assert report(3, completed("intake", at(3, 10))) == [(INTAKE, "late_step", at(2, 9), at(3, 10))]


def test_a_late_completion_on_the_previous_day_is_not_reported():
    assert report(4, completed("intake", at(3, 10))) == []


def test_a_completion_exactly_at_midnight_belongs_to_the_day_it_starts():
    events = [completed("intake", at(4))]
    assert report(3, *events) == []
    assert report(4, *events) == [(INTAKE, "late_step", at(2, 9), at(4))]


def test_an_overdue_obligation_is_reported_every_day_until_done():
    assert report(2) == [(INTAKE, "overdue_step", at(2, 9), None)]
    assert report(3) == [(INTAKE, "overdue_step", at(2, 9), None)]


def test_pending_obligations_are_not_reported():
    assert report(1) == []


def test_met_and_void_obligations_are_not_reported():
    assert report(2, completed("intake", at(1))) == []
    assert report(2, closed(at(1))) == []


def test_overdue_and_late_escalations_are_reported_as_missed_escalation():
    events = [missed(at(1)), missed(at(2)), completed("intake", at(2))]
    assert report(3, *events, tier="medium") == [
        ("escalation:missed@event:2", "missed_escalation", at(3), None)
    ]
    events.append(escalated(at(3, 2)))
    assert report(3, *events, tier="medium") == [
        ("escalation:missed@event:2", "missed_escalation", at(3), at(3, 2)),
        ("step:review/0@event:4", "overdue_step", at(3, 14), None),
    ]


# --- shape of the results ------------------------------------------------------------------------


def mixed_cases(case_ids):
    """Cases with overdue, late, escalation and incomplete-assessment items."""
    frames = [
        timeline(
            missed(at(1)),
            missed(at(1, case_id)),
            completed("intake", at(case_id % 4)),
            completed("risk", at(2), complete=False),
            tier=("low", "medium", "high")[case_id % 3],
            case_id=case_id,
            first_pk=10 * case_id,
        )
        for case_id in case_ids
    ]
    return (
        pd.concat([cases for cases, _ in frames], ignore_index=True),
        pd.concat([events for _, events in frames], ignore_index=True),
    )


@pytest.mark.parametrize(
    "compute",
    [
        lambda cases, events: engine.compute_obligations(cases, events, DEFINITIONS, at(5)),
        lambda cases, events: engine.incomplete_assessments(cases, events, DEFINITIONS, at(5)),
        lambda cases, events: engine.daily_report(cases, events, DEFINITIONS, at(3), at(4)),
    ],
    ids=["obligations", "incomplete", "report"],
)
def test_chunks_computed_separately_equal_the_whole(compute):
    whole = compute(*mixed_cases(range(1, 9)))
    halves = pd.concat(
        [compute(*mixed_cases(range(1, 5))), compute(*mixed_cases(range(5, 9)))],
        ignore_index=True,
    )
    assert len(whole) >= 8
    pd.testing.assert_frame_equal(whole, halves)


@pytest.mark.parametrize(
    "compute",
    [
        lambda cases, events: engine.compute_obligations(cases, events, DEFINITIONS, at(5)),
        lambda cases, events: engine.incomplete_assessments(cases, events, DEFINITIONS, at(5)),
        lambda cases, events: engine.daily_report(cases, events, DEFINITIONS, at(3), at(4)),
    ],
    ids=["obligations", "incomplete", "report"],
)
def test_empty_inputs_give_empty_frames_with_the_same_columns_and_dtypes(compute):
    cases, events = mixed_cases([1, 2])
    full = compute(cases, events)
    empty = compute(cases.iloc[0:0], events.iloc[0:0])
    assert empty.empty
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


# --- keys built in Python (issue 20) ----------------------------------------------------------


def test_a_completion_without_a_step_anchors_nothing_and_keys_stay_text():
    """The anchor and obligation keys are joined in Python: a missing step stays missing (it
    anchors no ``step:nan`` standard), and keys and steps keep pandas' text dtype."""
    result = engine.compute_obligations(
        *timeline(completed("intake", at(1, 9)), completed(None, at(1, 10))),
        DEFINITIONS,
        at(9),
    )
    assert not result["obligation_key"].str.contains("nan").any()
    assert "step:risk/0@step:intake" in set(result["obligation_key"])
    assert result["obligation_key"].dtype == engine.TEXT
    assert result["step"].dtype == engine.TEXT


def test_prefixed_keeps_missing_values_missing():
    values = pd.Series(["intake", None, "risk"], dtype=engine.TEXT, index=[4, 5, 6])
    joined = engine._prefixed("step:", values)
    assert joined.tolist()[0] == "step:intake" and pd.isna(joined.tolist()[1])
    assert list(joined.index) == [4, 5, 6]
    assert engine._prefixed("event:", pd.Series([7, 12])).tolist() == ["event:7", "event:12"]
