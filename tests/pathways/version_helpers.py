"""Definitions and small builders for the pathway-version, adaptation, command and page tests."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

from pathways.models import Case
from pathways.services.versions import pathway_version_import

FIXTURES = Path(__file__).resolve().parents[2] / "pathways" / "fixtures"
DEMO_FILES = ["hospital-to-home.json", "behavioural-health-continuity.json"]

# The example of ../shared/API.md "Pathway definitions", verbatim.
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


def example(**changes) -> dict:
    data = copy.deepcopy(API_EXAMPLE)
    data.update(changes)
    return data


def with_adaptable_step(data: dict | None = None) -> dict:
    """The example plus an adaptable weekly review."""
    data = copy.deepcopy(data or API_EXAMPLE)
    data["steps"].append(
        {
            "key": "weekly_review",
            "name": "Weekly case review",
            "kind": "review",
            "core": False,
            "time_standards": [{"anchor": "step:risk_assessment", "within_hours": 168}],
        }
    )
    return data


def demo_definition(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def normalised(data: dict) -> dict:
    """Tier lists are sets in meaning: compare them sorted."""
    data = copy.deepcopy(data)
    for item in [*data.get("escalation_rules", [])] + [
        standard for step in data["steps"] for standard in step.get("time_standards", [])
    ]:
        if "tiers" in item:
            item["tiers"] = sorted(item["tiers"])
    return data


def import_version(data=None, activate=False, **kwargs):
    return pathway_version_import(data=data or example(), activate=activate, **kwargs)


def make_case(version, site, ref: str, tier: str = "medium") -> Case:
    return Case.objects.create(
        external_ref=ref,
        site=site,
        version=version,
        referral_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        risk_tier=tier,
    )
