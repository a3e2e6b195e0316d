import json
from pathlib import Path

import pytest

from pathways.definitions import DefinitionError, parse_definition

API_EXAMPLE = {
    "slug": "hospital-to-home",
    "name": "Hospital-to-home stabilisation",
    "steps": [
        {
            "key": "intake",
            "name": "Intake",
            "kind": "intake",
            "core": True,
            "time_standards": [{"anchor": "referral", "within_hours": 48}],
        },
        {
            "key": "risk_assessment",
            "name": "Risk stratification",
            "kind": "assessment",
            "core": True,
            "required_fields": ["home_risk", "medication_risk"],
            "time_standards": [{"anchor": "step:intake", "within_hours": 72}],
        },
        {
            "key": "follow_up",
            "name": "Follow-up after missed contact",
            "kind": "touchpoint",
            "core": True,
            "time_standards": [{"tiers": ["high"], "anchor": "contact_missed", "within_hours": 24}],
        },
    ],
    "escalation_rules": [
        {
            "key": "repeated-missed-contacts",
            "tiers": ["high", "medium"],
            "missed_contacts": 2,
            "window_hours": 168,
            "escalate_within_hours": 24,
        }
    ],
}


def errors_of(data) -> dict[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return dict(caught.value.errors)


def test_the_api_example_round_trips():
    assert parse_definition(API_EXAMPLE).to_dict() == API_EXAMPLE


@pytest.mark.parametrize("name", ["hospital-to-home.json", "behavioural-health-continuity.json"])
def test_the_demo_pathways_are_valid(name):
    path = Path(__file__).resolve().parents[2] / "pathways" / "fixtures" / name
    data = json.loads(path.read_text())
    assert parse_definition(data).to_dict()["slug"] == data["slug"]


def test_a_bad_anchor_names_its_path():
    data = json.loads(json.dumps(API_EXAMPLE))
    data["steps"][2]["time_standards"][0]["anchor"] = "whenever"
    assert "must be one of referral" in errors_of(data)["steps[2].time_standards[0].anchor"]


def test_all_problems_are_reported_at_once():
    data = json.loads(json.dumps(API_EXAMPLE))
    data["slug"] = "Bad Slug"
    data["steps"][0]["kind"] = "party"
    data["steps"][1]["time_standards"][0]["within_hours"] = 0
    data["escalation_rules"][0]["missed_contacts"] = 1.5
    errors = errors_of(data)
    assert set(errors) == {
        "slug",
        "steps[0].kind",
        "steps[1].time_standards[0].within_hours",
        "escalation_rules[0].missed_contacts",
    }


def test_unknown_step_anchor_and_unknown_fields_are_rejected():
    data = json.loads(json.dumps(API_EXAMPLE))
    data["steps"][1]["time_standards"][0]["anchor"] = "step:nope"
    data["steps"][0]["colour"] = "red"
    errors = errors_of(data)
    assert "names no step" in errors["steps[1].time_standards[0].anchor"]
    assert "not a known field" in errors["steps[0].colour"]


def test_duplicate_keys_bad_tiers_and_missing_fields():
    data = json.loads(json.dumps(API_EXAMPLE))
    data["steps"][1]["key"] = "intake"
    data["escalation_rules"][0]["tiers"] = ["urgent"]
    del data["name"]
    errors = errors_of(data)
    assert "duplicates" in errors["steps[1].key"]
    assert "unknown tier" in errors["escalation_rules[0].tiers"]
    assert errors["name"] == "is required"


def test_step_anchor_cycles_are_rejected():
    data = json.loads(json.dumps(API_EXAMPLE))
    data["steps"][0]["time_standards"] = [{"anchor": "step:risk_assessment", "within_hours": 1}]
    assert "cycle" in errors_of(data)["steps[0].time_standards"]


def test_no_steps_is_an_error():
    assert "non-empty" in errors_of({"slug": "x", "name": "X", "steps": []})["steps"]
