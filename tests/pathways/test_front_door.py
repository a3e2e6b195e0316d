"""The front door of a pathway definition (README "The front door"): referral fields,
eligibility rules, the risk tool, and what the engine does with them (tier governance,
tier_disagreement, safeguarding). Pure Python and pandas, no database."""

import copy

import pandas as pd
import pytest

from pathways import engine
from pathways.definitions import DefinitionError, parse_definition
from pathways.front_door import (
    referral_completeness,
    referral_eligibility,
)
from tests.pathways.version_helpers import example

FRONT_DOOR = {
    "referral_fields": [
        {"key": "discharge_medication_list", "name": "Discharge medication list", "required": True},
        {"key": "age", "name": "Age in years", "required": True},
        {"key": "gp_letter", "name": "GP letter", "required": False},
        {"key": "consent", "name": "Consent recorded", "required": False},
    ],
    "eligibility": [
        {
            "key": "adult",
            "field": "referral.age",
            "op": "at_least",
            "value": 18,
            "reason": "The service is for adults.",
        },
    ],
    "risk_tool": {
        "step": "risk_assessment",
        "governs": "partner",
        "items": [
            {"field": "home_risk", "points": {"low": 0, "medium": 2, "high": 4}},
            {"field": "medication_risk", "points": {"no": 0, "yes": 3}},
        ],
        "thresholds": {"medium": 3, "high": 6},
    },
}


def definition_with(**parts):
    data = example()
    data.update(copy.deepcopy(FRONT_DOOR))
    data.update(parts)
    return data


def errors_of(data) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return dict(caught.value.errors)


def rule(op, value=None, field="referral.age"):
    raw = {"key": "r", "field": field, "op": op, "reason": "Because."}
    if op != "present":
        raw["value"] = value
    return parse_definition(definition_with(eligibility=[raw])).eligibility


# --- the definition ------------------------------------------------------------------------------


def test_the_front_door_round_trips_through_export_and_import():
    definition = parse_definition(definition_with())
    exported = definition.to_dict()
    assert exported["referral_fields"] == FRONT_DOOR["referral_fields"]
    assert exported["eligibility"] == FRONT_DOOR["eligibility"]
    assert exported["risk_tool"] == FRONT_DOOR["risk_tool"]
    assert parse_definition(exported) == definition


def test_a_pathway_without_a_front_door_exports_as_before():
    assert set(parse_definition(example()).to_dict()) == {
        "slug",
        "name",
        "steps",
        "escalation_rules",
    }


def test_every_front_door_problem_is_named_by_its_path_and_nothing_is_taken():
    data = definition_with(
        referral_fields=[{"key": "Bad Key", "name": "", "required": "yes"}],
        eligibility=[
            {"key": "a", "field": "referral.unknown", "op": "at_least", "value": "x", "reason": ""},
            {"key": "b", "field": "attributes.shoe_size", "op": "like", "reason": "r"},
        ],
        risk_tool={
            "step": "intake",
            "governs": "nobody",
            "items": [{"field": "home_risk", "points": {"low": "many"}}],
            "thresholds": {"medium": 5, "high": 2},
        },
    )
    errors = errors_of(data)
    assert set(errors) >= {
        "referral_fields[0].key",
        "referral_fields[0].name",
        "referral_fields[0].required",
        "eligibility[0].field",
        "eligibility[0].value",
        "eligibility[0].reason",
        "eligibility[1].field",
        "eligibility[1].op",
        "risk_tool.step",
        "risk_tool.governs",
        "risk_tool.items[0].points.low",
        "risk_tool.thresholds.high",
    }
    assert "assessment step" in errors["risk_tool.step"]


def test_safeguarding_concern_is_an_anchor_of_time_standards():
    data = example()
    data["steps"].append(
        {
            "key": "safeguarding_response",
            "name": "Safeguarding response",
            "kind": "escalation",
            "time_standards": [{"anchor": "safeguarding_concern", "within_hours": 4}],
        }
    )
    assert parse_definition(data).step("safeguarding_response").time_standards[0].anchor == (
        "safeguarding_concern"
    )


# --- eligibility ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "age", "status"),
    [
        ("equals", 30, 30, "eligible"),
        ("equals", 30, 31, "ineligible"),
        ("not_equals", 30, 31, "eligible"),
        ("not_equals", 30, 30, "ineligible"),
        ("in", [18, 30], 30, "eligible"),
        ("in", [18, 30], 31, "ineligible"),
        ("not_in", [18, 30], 31, "eligible"),
        ("not_in", [18, 30], 30, "ineligible"),
        ("at_least", 18, 18, "eligible"),
        ("at_least", 18, 17, "ineligible"),
        ("at_most", 65, 65, "eligible"),
        ("at_most", 65, 66, "ineligible"),
        ("present", None, 40, "eligible"),
        ("present", None, None, "ineligible"),
        ("present", None, "  ", "ineligible"),
    ],
)
def test_each_eligibility_operator(op, value, age, status):
    rules = rule(op, value)
    result = referral_eligibility(rules, {}, {"age": age})
    assert result.status == status
    assert [r.reason for r in result.failing] == (["Because."] if status == "ineligible" else [])


@pytest.mark.parametrize("op", ["equals", "not_equals", "in", "not_in", "at_least", "at_most"])
def test_a_rule_whose_field_is_missing_is_not_assessable(op):
    value = [1] if op in ("in", "not_in") else 1
    result = referral_eligibility(rule(op, value), {}, {})
    assert result.status == "not_assessable"
    assert [r.key for r in result.unassessable] == ["r"]


def test_a_number_rule_on_text_is_not_assessable_and_booleans_are_not_numbers():
    assert referral_eligibility(rule("at_least", 18), {}, {"age": "adult"}).status == (
        "not_assessable"
    )
    assert referral_eligibility(rule("equals", 1), {}, {"age": True}).status == "ineligible"


def test_rules_read_coded_attributes():
    rules = rule("in", ["unstable", "homeless"], field="attributes.housing")
    assert referral_eligibility(rules, {"housing": "homeless"}, {}).status == "eligible"
    assert referral_eligibility(rules, {"housing": "stable"}, {}).status == "ineligible"
    assert referral_eligibility(rules, {"housing": None}, {}).status == "not_assessable"


def test_a_failing_rule_outweighs_one_that_cannot_be_checked():
    data = definition_with(
        eligibility=[
            {"key": "adult", "field": "referral.age", "op": "at_least", "value": 18, "reason": "A"},
            {
                "key": "gp",
                "field": "referral.gp_letter",
                "op": "equals",
                "value": True,
                "reason": "B",
            },
        ]
    )
    rules = parse_definition(data).eligibility
    result = referral_eligibility(rules, {}, {"age": 12})
    assert result.status == "ineligible"
    assert [r.key for r in result.failing] == ["adult"]
    assert [r.key for r in result.unassessable] == ["gp"]


def test_no_rules_is_no_verdict():
    assert referral_eligibility((), {}, {}).status == ""


# --- completeness --------------------------------------------------------------------------------


def test_completeness_separates_required_from_recommended_fields():
    fields = parse_definition(definition_with()).referral_fields
    result = referral_completeness(fields, {"age": 70, "gp_letter": "", "consent": None})
    assert result.missing_required == ("discharge_medication_list",)
    assert result.missing_recommended == ("gp_letter", "consent")
    assert not result.is_complete


def test_a_referral_missing_only_recommended_fields_is_complete():
    fields = parse_definition(definition_with()).referral_fields
    result = referral_completeness(fields, {"age": 70, "discharge_medication_list": True})
    assert result.is_complete
    assert result.missing_recommended == ("gp_letter", "consent")


# --- the risk tool -------------------------------------------------------------------------------


TOOL = parse_definition(definition_with()).risk_tool


@pytest.mark.parametrize(
    ("home", "medication", "score", "tier"),
    [
        ("low", "no", 0, "low"),
        ("medium", "no", 2, "low"),  # one below medium
        ("low", "yes", 3, "medium"),  # exactly medium
        ("medium", "yes", 5, "medium"),  # one below high
        ("high", "no", 4, "medium"),
        ("high", "yes", 7, "high"),
    ],
)
def test_risk_tool_scores_and_tiers(home, medication, score, tier):
    data = {"home_risk": home, "medication_risk": medication}
    assert TOOL.score(data) == score
    assert TOOL.tier(data) == tier


def test_risk_tool_tier_is_high_at_exactly_the_high_threshold():
    tool = parse_definition(
        definition_with(
            risk_tool={
                "step": "risk_assessment",
                "items": [{"field": "home_risk", "points": {"a": 6, "b": 5.5}}],
                "thresholds": {"medium": 3, "high": 6},
            }
        )
    ).risk_tool
    assert tool.tier({"home_risk": "a"}) == "high"
    assert tool.tier({"home_risk": "b"}) == "medium"
    assert tool.governs == "partner"


def test_risk_tool_says_nothing_without_every_field_or_with_an_unknown_answer():
    assert TOOL.tier({"home_risk": "low"}) is None
    assert TOOL.tier({"home_risk": "low", "medication_risk": "maybe"}) is None
    assert TOOL.tier({"home_risk": "low", "medication_risk": "no", "complete": False}) is None


# --- the engine ----------------------------------------------------------------------------------

DAY0 = pd.Timestamp("2026-03-01T00:00:00Z")


def at(day: int, hour: float = 0) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(days=day, hours=hour)


def engine_definition(governs="partner"):
    data = definition_with()
    data["risk_tool"]["governs"] = governs
    data["steps"][2]["time_standards"] = [
        {"tiers": ["high"], "anchor": "contact_missed", "within_hours": 24}
    ]
    data["steps"].append(
        {
            "key": "safeguarding_response",
            "name": "Safeguarding response",
            "kind": "escalation",
            "time_standards": [{"anchor": "safeguarding_concern", "within_hours": 4}],
        }
    )
    data["escalation_rules"] = []
    return {1: parse_definition(data)}


def frames(*events, tier="low"):
    cases = pd.DataFrame([(1, 1, at(0, 9), tier)], columns=engine.CASE_COLUMNS)
    rows = [
        (pk, 1, type_, step, when, data)
        for pk, (type_, when, step, data) in enumerate(events, start=1)
    ]
    return cases, pd.DataFrame(rows, columns=engine.EVENT_COLUMNS)


HIGH_ASSESSMENT = (
    "step_completed",
    at(1, 9),
    "risk_assessment",
    {"home_risk": "high", "medication_risk": "yes"},
)
MISSED = ("contact_missed", at(2, 9), None, {})


def follow_ups(definitions, *events, tier="low"):
    result = engine.compute_obligations(*frames(*events, tier=tier), definitions, at(5))
    return [row.obligation_key for row in result.itertuples() if row.step == "follow_up"]


def test_the_partner_tier_governs_time_standards_when_the_pathway_says_partner():
    # The tool says high, the partner low: the high-only follow-up standard does not apply.
    assert follow_ups(engine_definition("partner"), HIGH_ASSESSMENT, MISSED) == []


def test_the_computed_tier_governs_time_standards_when_the_pathway_says_computed():
    assert len(follow_ups(engine_definition("computed"), HIGH_ASSESSMENT, MISSED)) == 1


def test_under_computed_governance_a_partner_change_after_the_assessment_is_ignored():
    lowered = ("risk_tier_changed", at(1, 12), None, {"risk_tier": "low"})
    definitions = engine_definition("computed")
    assert len(follow_ups(definitions, HIGH_ASSESSMENT, lowered, MISSED)) == 1
    # ... but before any scored assessment the partner's tier still counts.
    raised = ("risk_tier_changed", at(0, 12), None, {"risk_tier": "high"})
    assert len(follow_ups(definitions, raised, MISSED)) == 1


def report(definitions, *events, day=1, tier="low"):
    cases, frame = frames(*events, tier=tier)
    result = engine.daily_report(cases, frame, definitions, at(day), at(day + 1))
    return [(row.obligation_key, row.kind) for row in result.itertuples()]


def test_a_computed_tier_unlike_the_partners_is_a_tier_disagreement():
    intake = ("step_completed", at(0, 10), "intake", {})
    lines = report(engine_definition(), intake, HIGH_ASSESSMENT)
    assert lines == [("tier:risk_assessment@event:2", "tier_disagreement")]


def test_the_disagreement_is_gone_once_the_partner_agrees():
    intake = ("step_completed", at(0, 10), "intake", {})
    agreed = ("risk_tier_changed", at(1, 10), None, {"risk_tier": "high"})
    assert report(engine_definition(), intake, HIGH_ASSESSMENT, agreed) == []
    # An agreeing tier from the start: nothing either.
    assert report(engine_definition(), intake, HIGH_ASSESSMENT, tier="high") == []


def safeguarding(response_after: pd.Timedelta):
    concern = ("safeguarding_concern", at(2, 10), None, {})
    response = ("step_completed", at(2, 10) + response_after, "safeguarding_response", {})
    cases, frame = frames(concern, response, tier="high")
    obligations = engine.compute_obligations(cases, frame, engine_definition(), at(5))
    row = obligations[obligations["step"] == "safeguarding_response"].iloc[0]
    lines = engine.daily_report(cases, frame, engine_definition(), at(2), at(3))
    kinds = set(lines.loc[lines["step"] == "safeguarding_response", "kind"])
    return row.status, row.due_at, kinds


def test_safeguarding_answered_at_exactly_four_hours_is_met():
    status, due_at, kinds = safeguarding(pd.Timedelta(hours=4))
    assert (status, due_at) == ("met", at(2, 14))
    assert kinds == set()


def test_safeguarding_answered_one_minute_after_four_hours_is_late_and_reported():
    status, _, kinds = safeguarding(pd.Timedelta(hours=4, minutes=1))
    assert status == "late"
    assert kinds == {"missed_safeguarding"}


def test_an_unanswered_safeguarding_concern_is_overdue_as_missed_safeguarding():
    concern = ("safeguarding_concern", at(2, 10), None, {})
    assert ("step:safeguarding_response/0@event:1", "missed_safeguarding") in report(
        engine_definition(), concern, day=2
    )
