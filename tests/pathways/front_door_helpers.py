"""A pathway with a front door (referral fields, eligibility, a risk tool) and a safeguarding
standard, imported and active, for the referral, queue and measure tests."""

import copy

from pathways.services.versions import pathway_version_import
from tests.pathways.version_helpers import example

FRONT_DOOR = {
    "referral_fields": [
        {"key": "discharge_medication_list", "name": "Discharge medication list", "required": True},
        {"key": "age", "name": "Age in years", "required": True},
        {"key": "gp_letter", "name": "GP letter", "required": False},
    ],
    "eligibility": [
        {
            "key": "adult",
            "field": "referral.age",
            "op": "at_least",
            "value": 18,
            "reason": "The service is for adults (18 or over).",
        }
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
COMPLETE_REFERRAL = {"discharge_medication_list": True, "age": 70, "gp_letter": "attached"}


def front_door_definition(slug: str = "h2h") -> dict:
    data = example()
    data["slug"] = slug
    data.update(copy.deepcopy(FRONT_DOOR))
    data["steps"].append(
        {
            "key": "safeguarding_response",
            "name": "Safeguarding response",
            "kind": "escalation",
            "time_standards": [{"anchor": "safeguarding_concern", "within_hours": 4}],
        }
    )
    return data


def build_front_door_version(slug: str = "h2h"):
    return pathway_version_import(data=front_door_definition(slug), activate=True)
