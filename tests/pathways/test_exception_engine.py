"""DESIGN.md section 3, rule by rule, on small hand-built timelines (no database)."""

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
                "name": "Risk",
                "kind": "assessment",
                "required_fields": ["home"],
                "time_standards": [{"anchor": "step:intake", "within_hours": 72}],
            },
            {
                "key": "visit",
                "name": "Visit",
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
        ],
        "escalation_rules": [
            {
                "key": "missed",
                "tiers": ["high", "medium"],
                "missed_contacts": 2,
                "window_hours": 168,
                "escalate_within_hours": 24,
            }
        ],
    }
)
DEFINITIONS = {1: DEFINITION}
T0 = pd.Timestamp("2026-03-01T09:00:00Z")


def h(hours: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(hours=hours)


def frames(tier="low", events=(), cases=None):
    cases = pd.DataFrame(cases or [(1, 1, T0, tier)], columns=engine.CASE_COLUMNS)
    rows = [
        (pk, case_id, type_, step, at, data or {})
        for pk, (case_id, type_, step, at, data) in enumerate(events, start=1)
    ]
    return cases, pd.DataFrame(rows, columns=engine.EVENT_COLUMNS)


def ev(type_, at, step=None, data=None, case_id=1):
    return (case_id, type_, step, at, data)


def obligations(cutoff, **kw):
    cases, events = frames(**kw)
    result = engine.compute_obligations(cases, events, DEFINITIONS, cutoff)
    return {row.obligation_key: row for row in result.itertuples()}


def statuses(cutoff, **kw):
    return {key: row.status for key, row in obligations(cutoff, **kw).items()}


def report(day_start, day_end, **kw):
    cases, events = frames(**kw)
    result = engine.daily_report(cases, events, DEFINITIONS, day_start, day_end)
    return sorted((row.obligation_key, row.kind) for row in result.itertuples())


INTAKE = "step:intake/0@referral"
RISK = "step:risk/0@step:intake"
VISIT = "step:visit/0@referral"


def test_referral_anchor_is_pending_before_due_and_overdue_at_due():
    assert statuses(h(47))[INTAKE] == "pending"
    assert statuses(h(48))[INTAKE] == "overdue"


def test_completion_exactly_at_due_is_met_and_one_second_later_is_late():
    on_time = statuses(h(100), events=[ev("step_completed", h(48), "intake")])
    assert on_time[INTAKE] == "met"
    late = statuses(
        h(100), events=[ev("step_completed", h(48) + pd.Timedelta(seconds=1), "intake")]
    )
    assert late[INTAKE] == "late"


def test_step_anchor_starts_at_the_first_completion_of_the_upstream_step():
    result = obligations(
        h(200),
        events=[ev("step_completed", h(10), "intake"), ev("step_completed", h(30), "intake")],
    )
    assert result[RISK].anchor_at == h(10)
    assert result[RISK].due_at == h(82)
    assert result[RISK].status == "overdue"


def test_no_step_anchor_obligation_until_the_upstream_step_is_done():
    assert RISK not in statuses(h(500))


def test_tier_restricted_standard_applies_only_to_that_tier():
    assert VISIT not in statuses(h(100), tier="low")
    assert statuses(h(100), tier="high")[VISIT] == "overdue"


def test_tier_change_before_the_anchor_counts():
    change = ev("risk_tier_changed", T0 - pd.Timedelta(hours=1), data={"risk_tier": "high"})
    # the referral itself is the anchor; a change an hour before referral already applies
    assert statuses(h(100), tier="low", events=[change])[VISIT] == "overdue"


def test_tier_change_exactly_at_the_anchor_counts():
    change = ev("risk_tier_changed", T0, data={"risk_tier": "high"})
    assert VISIT in statuses(h(100), tier="low", events=[change])


def test_tier_change_after_the_anchor_does_not_count():
    change = ev("risk_tier_changed", h(1), data={"risk_tier": "high"})
    assert VISIT not in statuses(h(100), tier="low", events=[change])


def test_events_out_of_order_give_the_same_result():
    in_order = [
        ev("step_completed", h(10), "intake"),
        ev("step_completed", h(60), "risk", {"home": 1}),
    ]
    reversed_ = list(reversed(in_order))
    assert statuses(h(200), events=in_order) == statuses(h(200), events=reversed_)
    assert statuses(h(200), events=in_order)[RISK] == "met"


def test_events_after_the_cutoff_do_not_count():
    result = statuses(h(60), events=[ev("step_completed", h(70), "intake")])
    assert result[INTAKE] == "overdue"


def test_closure_between_anchor_and_due_voids_the_obligation():
    assert statuses(h(100), events=[ev("case_closed", h(20))])[INTAKE] == "void"


def test_closure_after_due_leaves_it_overdue():
    assert statuses(h(100), events=[ev("case_closed", h(50))])[INTAKE] == "overdue"


def test_closure_after_the_cutoff_voids_nothing_at_the_cutoff():
    assert statuses(h(60), events=[ev("case_closed", h(70))])[INTAKE] == "overdue"


def test_contact_missed_anchor_completed_only_after_the_anchor():
    events = [
        ev("step_completed", h(5), "follow_up"),
        ev("contact_missed", h(10)),
        ev("step_completed", h(40), "follow_up"),
    ]
    result = obligations(h(100), tier="high", events=events)
    (key,) = [k for k in result if k.startswith("step:follow_up")]
    assert result[key].completed_at == h(40)
    assert result[key].status == "late"


def test_each_missed_contact_creates_its_own_follow_up_obligation():
    events = [ev("contact_missed", h(10)), ev("contact_missed", h(300))]
    keys = [k for k in statuses(h(400), tier="high", events=events) if "follow_up" in k]
    assert len(keys) == 2


def test_two_missed_contacts_inside_the_window_raise_an_escalation_obligation():
    events = [ev("contact_missed", h(10)), ev("contact_missed", h(10 + 168))]
    result = obligations(h(400), tier="medium", events=events)
    escalations = [row for key, row in result.items() if key.startswith("escalation:")]
    assert len(escalations) == 1
    assert escalations[0].anchor_at == h(178)
    assert escalations[0].due_at == h(202)
    assert escalations[0].status == "overdue"


def test_two_missed_contacts_just_outside_the_window_raise_nothing():
    events = [
        ev("contact_missed", h(10)),
        ev("contact_missed", h(10 + 168) + pd.Timedelta(seconds=1)),
    ]
    assert not [k for k in statuses(h(400), tier="medium", events=events) if "escalation" in k]


def test_escalation_rule_respects_its_tiers():
    events = [ev("contact_missed", h(10)), ev("contact_missed", h(20))]
    assert not [k for k in statuses(h(400), tier="low", events=events) if "escalation" in k]


def test_escalation_met_by_the_first_escalation_after_the_anchor():
    events = [
        ev("contact_missed", h(10)),
        ev("contact_missed", h(20)),
        ev("escalation_raised", h(30)),
    ]
    result = statuses(h(400), tier="medium", events=events)
    assert [v for k, v in result.items() if k.startswith("escalation")] == ["met"]


def test_no_second_escalation_obligation_while_the_first_is_unmet():
    events = [ev("contact_missed", h(t)) for t in (10, 20, 30, 40)]
    result = statuses(h(400), tier="medium", events=events)
    assert len([k for k in result if k.startswith("escalation")]) == 1


def test_contacts_before_a_met_escalation_do_not_count_again():
    events = [
        ev("contact_missed", h(10)),
        ev("contact_missed", h(20)),
        ev("contact_missed", h(25)),  # before the escalation: does not count afterwards
        ev("escalation_raised", h(30)),
        ev("contact_missed", h(40)),
    ]
    result = statuses(h(400), tier="medium", events=events)
    assert len([k for k in result if k.startswith("escalation")]) == 1
    events.append(ev("contact_missed", h(50)))
    result = statuses(h(400), tier="medium", events=events)
    assert len([k for k in result if k.startswith("escalation")]) == 2


def test_incomplete_then_complete_assessment():
    events = [
        ev("step_completed", h(10), "intake"),
        ev("step_completed", h(20), "risk", {"complete": False}),
        ev("step_completed", h(100), "risk", {"complete": True, "home": "ok"}),
    ]
    assert report(h(24), h(48), events=events) == [
        ("incomplete:risk@event:2", "incomplete_assessment")
    ]
    result = statuses(h(120), events=events)
    assert result[RISK] == "late"  # the incomplete one at h20 did not complete the step
    assert report(h(96), h(120), events=events) == [(RISK, "late_step")]


def test_a_missing_required_field_makes_the_assessment_incomplete():
    events = [ev("step_completed", h(10), "intake"), ev("step_completed", h(20), "risk", {})]
    assert statuses(h(100), events=events)[RISK] == "overdue"
    assert ("incomplete:risk@event:2", "incomplete_assessment") in report(
        h(76), h(100), events=events
    )


def test_late_completion_is_reported_on_its_day_only():
    events = [ev("step_completed", h(60), "intake")]
    assert report(h(48), h(72), events=events) == [(INTAKE, "late_step")]
    assert report(h(72), h(96), events=events) == []


def test_overdue_items_are_reported_every_day_until_done():
    assert report(h(48), h(72)) == [(INTAKE, "overdue_step")]
    assert report(h(72), h(96)) == [(INTAKE, "overdue_step")]


def test_pending_obligations_are_not_reported():
    assert report(h(0), h(24)) == []


def test_missed_escalation_kind_for_overdue_and_late_escalations():
    events = [ev("contact_missed", h(10)), ev("contact_missed", h(20))]
    overdue = report(h(44), h(68), tier="medium", events=events)
    assert ("escalation:missed@event:2", "missed_escalation") in overdue
    events.append(ev("escalation_raised", h(50)))
    late = report(h(48), h(72), tier="medium", events=events)
    assert ("escalation:missed@event:2", "missed_escalation") in late


def test_chunks_give_the_same_report_as_the_whole():
    cases = [(case_id, 1, T0, "high") for case_id in range(1, 7)]
    events = []
    for case_id in range(1, 7):
        events += [
            ev("contact_missed", h(case_id), case_id=case_id),
            ev("step_completed", h(10 * case_id), "intake", case_id=case_id),
        ]
    all_cases, all_events = frames(cases=cases, events=events)
    whole = engine.daily_report(all_cases, all_events, DEFINITIONS, h(48), h(72))
    parts = []
    for ids in ([1, 2, 3], [4, 5, 6]):
        parts.append(
            engine.daily_report(
                all_cases[all_cases.case_id.isin(ids)],
                all_events[all_events.case_id.isin(ids)],
                DEFINITIONS,
                h(48),
                h(72),
            )
        )
    combined = pd.concat(parts).sort_values(["case_id", "obligation_key"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(whole.reset_index(drop=True), combined, check_dtype=False)
    assert len(whole) > 0


@pytest.mark.parametrize("function", [engine.compute_obligations, engine.incomplete_assessments])
def test_empty_inputs_give_empty_frames(function):
    cases, events = frames(cases=[(1, 1, T0, "low")])
    result = function(cases.iloc[0:0], events, DEFINITIONS, h(10))
    assert result.empty
