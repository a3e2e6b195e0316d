"""Pathway definitions as JSON (API.md "Pathway definitions"): export/import and validation."""

import copy

import pytest

from pathways.definitions import (
    ANCHOR_HELP,
    DefinitionError,
    EscalationRule,
    Step,
    TimeStandard,
    parse_definition,
)
from tests.pathways.version_helpers import API_EXAMPLE, DEMO_FILES, demo_definition, example


def errors_of(data) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return dict(caught.value.errors)


# --- export and import -----------------------------------------------------------------------


def test_the_api_example_round_trips_with_tiers_in_low_medium_high_order():
    exported = parse_definition(API_EXAMPLE).to_dict()
    expected = example()
    expected["escalation_rules"][0]["tiers"] = ["medium", "high"]
    assert exported == expected
    assert parse_definition(exported).to_dict() == exported


def test_import_of_an_export_gives_the_same_definition():
    definition = parse_definition(API_EXAMPLE)
    assert parse_definition(definition.to_dict()) == definition


@pytest.mark.parametrize("name", DEMO_FILES)
def test_the_demo_pathways_are_valid_and_round_trip(name):
    definition = parse_definition(demo_definition(name))
    assert parse_definition(definition.to_dict()) == definition


def test_tiers_are_a_set_and_left_out_of_the_export_when_all_three_apply():
    data = example()
    data["steps"][0]["time_standards"][0]["tiers"] = ["high", "low", "medium", "low"]
    definition = parse_definition(data)
    assert definition.steps[0].time_standards[0].tiers == frozenset({"low", "medium", "high"})
    assert "tiers" not in definition.to_dict()["steps"][0]["time_standards"][0]


def test_whole_hours_export_as_integers_and_fractions_as_they_were():
    data = example()
    data["steps"][0]["time_standards"][0]["within_hours"] = 48.0
    data["steps"][1]["time_standards"][0]["within_hours"] = 1.5
    steps = parse_definition(data).to_dict()["steps"]
    assert steps[0]["time_standards"][0]["within_hours"] == 48
    assert isinstance(steps[0]["time_standards"][0]["within_hours"], int)
    assert steps[1]["time_standards"][0]["within_hours"] == 1.5


def test_optional_fields_take_their_defaults():
    definition = parse_definition(
        {"slug": "mini", "name": "Mini", "steps": [{"key": "a", "name": "A", "kind": "review"}]}
    )
    assert definition.steps == (Step("a", "A", "review", True, (), ()),)
    assert definition.escalation_rules == ()


def test_step_finds_a_step_by_key():
    definition = parse_definition(API_EXAMPLE)
    assert definition.step("risk_assessment").required_fields == ("home_risk", "medication_risk")
    assert definition.step("nope") is None


def test_dataclasses_built_from_stored_rows_take_tier_lists():
    assert TimeStandard(["high", "low"], "referral", 1).tiers == frozenset({"low", "high"})
    assert EscalationRule("r", ("medium",), 2, 1, 1).tiers == frozenset({"medium"})


# --- validation: one rule each -------------------------------------------------------------------


def _set(path: str, value):
    """A change to the example: set ``steps.2.time_standards.0.anchor`` to ``value``."""

    def change(data):
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


def _delete(path: str):
    def change(data):
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return change


RULES = {
    "missing slug": (_delete("slug"), "slug", "is required"),
    "slug with capitals and spaces": (_set("slug", "Hospital To Home"), "slug", "lower-case"),
    "name not a string": (_set("name", 7), "name", "non-empty string"),
    "empty name": (_set("name", "  "), "name", "non-empty string"),
    "unknown top-level field": (_set("colour", "red"), "colour", "not a known field"),
    "steps not a list": (_set("steps", {}), "steps", "at least one step"),
    "no steps": (_set("steps", []), "steps", "at least one step"),
    "step not an object": (_set("steps.1", "intake"), "steps[1]", "JSON object"),
    "missing step kind": (_delete("steps.1.kind"), "steps[1].kind", "is required"),
    "unknown step field": (_set("steps.0.colour", 1), "steps[0].colour", "not a known field"),
    "duplicate step key": (_set("steps.2.key", "intake"), "steps[2].key", "unique"),
    "step key with a colon": (_set("steps.2.key", "follow:up"), "steps[2].key", "lower-case"),
    "unknown step kind": (_set("steps.0.kind", "party"), "steps[0].kind", "intake, assessment"),
    "core not a boolean": (_set("steps.0.core", "yes"), "steps[0].core", "true or false"),
    "required_fields not a list": (
        _set("steps.1.required_fields", "home_risk"),
        "steps[1].required_fields",
        "must be a list",
    ),
    "empty required field name": (
        _set("steps.1.required_fields", ["home_risk", ""]),
        "steps[1].required_fields",
        "non-empty field names",
    ),
    "time_standards not a list": (
        _set("steps.0.time_standards", {}),
        "steps[0].time_standards",
        "must be a list",
    ),
    "unknown anchor": (
        _set("steps.2.time_standards.0.anchor", "whenever"),
        "steps[2].time_standards[0].anchor",
        ANCHOR_HELP,
    ),
    "anchor on an unknown step": (
        _set("steps.1.time_standards.0.anchor", "step:nope"),
        "steps[1].time_standards[0].anchor",
        "names no step",
    ),
    "anchor on the step itself": (
        _set("steps.1.time_standards.0.anchor", "step:risk_assessment"),
        "steps[1].time_standards[0].anchor",
        "its own completion",
    ),
    "unknown standard field": (
        _set("steps.0.time_standards.0.every", 2),
        "steps[0].time_standards[0].every",
        "not a known field",
    ),
    "zero within_hours": (
        _set("steps.0.time_standards.0.within_hours", 0),
        "steps[0].time_standards[0].within_hours",
        "greater than 0",
    ),
    "within_hours as text": (
        _set("steps.0.time_standards.0.within_hours", "48"),
        "steps[0].time_standards[0].within_hours",
        "greater than 0",
    ),
    "within_hours as a boolean": (
        _set("steps.0.time_standards.0.within_hours", True),
        "steps[0].time_standards[0].within_hours",
        "greater than 0",
    ),
    "empty tiers": (
        _set("steps.2.time_standards.0.tiers", []),
        "steps[2].time_standards[0].tiers",
        "non-empty list",
    ),
    "unknown tier": (
        _set("escalation_rules.0.tiers", ["urgent"]),
        "escalation_rules[0].tiers",
        "unknown tier 'urgent'",
    ),
    "escalation_rules not a list": (
        _set("escalation_rules", {}),
        "escalation_rules",
        "must be a list",
    ),
    "duplicate rule key": (
        lambda data: data["escalation_rules"].append(copy.deepcopy(data["escalation_rules"][0])),
        "escalation_rules[1].key",
        "unique",
    ),
    "missing rule window": (
        _delete("escalation_rules.0.window_hours"),
        "escalation_rules[0].window_hours",
        "is required",
    ),
    "zero missed_contacts": (
        _set("escalation_rules.0.missed_contacts", 0),
        "escalation_rules[0].missed_contacts",
        "whole number of at least 1",
    ),
    "fractional missed_contacts": (
        _set("escalation_rules.0.missed_contacts", 1.5),
        "escalation_rules[0].missed_contacts",
        "whole number of at least 1",
    ),
    "negative window_hours": (
        _set("escalation_rules.0.window_hours", -1),
        "escalation_rules[0].window_hours",
        "greater than 0",
    ),
    "zero escalate_within_hours": (
        _set("escalation_rules.0.escalate_within_hours", 0),
        "escalation_rules[0].escalate_within_hours",
        "greater than 0",
    ),
}


@pytest.mark.parametrize("change, path, message", RULES.values(), ids=RULES.keys())
def test_an_invalid_value_is_rejected_with_its_path_alone(change, path, message):
    data = example()
    change(data)
    errors = errors_of(data)
    assert list(errors) == [path]
    assert message in errors[path]


def test_a_definition_that_is_not_an_object_is_rejected():
    assert errors_of(["steps"]) == {"(root)": "must be a JSON object"}


def test_an_unknown_field_error_names_the_allowed_fields():
    message = errors_of(example(colour="red"))["colour"]
    assert message == (
        "is not a known field; remove it (allowed: eligibility, escalation_rules, name, "
        "referral_fields, risk_tool, slug, steps)"
    )


def test_each_anchor_on_a_cycle_of_step_anchors_is_rejected():
    data = example()
    data["steps"][0]["time_standards"] = [{"anchor": "step:risk_assessment", "within_hours": 1}]
    errors = errors_of(data)
    assert list(errors) == [
        "steps[0].time_standards[0].anchor",
        "steps[1].time_standards[0].anchor",
    ]
    assert "intake -> risk_assessment -> intake" in errors["steps[0].time_standards[0].anchor"]


def test_all_problems_are_reported_at_once():
    data = example(slug="Bad Slug")
    data["steps"][0]["kind"] = "party"
    data["steps"][1]["time_standards"][0]["within_hours"] = 0
    data["steps"][2]["time_standards"][0]["anchor"] = "whenever"
    data["escalation_rules"][0]["missed_contacts"] = 1.5
    assert set(errors_of(data)) == {
        "slug",
        "steps[0].kind",
        "steps[1].time_standards[0].within_hours",
        "steps[2].time_standards[0].anchor",
        "escalation_rules[0].missed_contacts",
    }


def test_the_error_text_lists_one_path_and_message_per_line():
    error = DefinitionError([("slug", "is required"), ("steps", "must be a list")])
    assert str(error) == "slug: is required\nsteps: must be a list"
