"""The case PUT's referral_source and referral (API.md "Cases", README "The front door"):
completeness and eligibility kept on the case, nothing refused for being incomplete, a later PUT
completing it, old partners unchanged, and the risk tool's tier beside the partner's."""

import pytest

from pathways.models import Case
from tests.pathways.api_helpers import case_payload, event_payload, partner_client
from tests.pathways.front_door_helpers import COMPLETE_REFERRAL, build_front_door_version


@pytest.fixture
def version(tenant):
    return build_front_door_version()


@pytest.fixture
def north_key(personas, version):
    return partner_client(personas.org, [personas.north])


def put(client, ref="C-1", **changes):
    return client.put(f"/api/v1/cases/{ref}/", case_payload(**changes), format="json")


def stored(ref="C-1") -> Case:
    return Case.dangerously_unscoped.get(external_ref=ref)


def test_an_incomplete_referral_is_stored_and_held_with_what_it_lacks(north_key):
    response = put(north_key, referral_source="East General discharge team", referral={"age": 70})
    assert response.status_code == 201
    body = response.json()
    assert body["referral_source"] == "East General discharge team"
    assert body["referral"] == {"age": 70}
    assert body["front_door"] == {
        "complete": False,
        "missing_required": ["discharge_medication_list"],
        "missing_recommended": ["gp_letter"],
        "eligibility": "eligible",
        "rules": [],
        "held_for_review": True,
        "computed_tier": "",
    }
    assert stored().referral_needs_review


def test_a_later_put_completing_the_referral_clears_it(north_key):
    put(north_key, referral={"age": 70})
    response = put(north_key, referral=COMPLETE_REFERRAL)
    assert response.status_code == 200
    front_door = response.json()["front_door"]
    assert front_door["complete"] and not front_door["held_for_review"]
    assert front_door["missing_recommended"] == []
    assert not stored().referral_needs_review


def test_an_ineligible_referral_is_stored_with_the_failing_rule(north_key):
    response = put(north_key, referral={**COMPLETE_REFERRAL, "age": 16})
    assert response.status_code == 201
    front_door = response.json()["front_door"]
    assert front_door["eligibility"] == "ineligible"
    assert front_door["rules"] == [
        {"rule": "adult", "reason": "The service is for adults (18 or over).", "outcome": "fails"}
    ]
    assert front_door["held_for_review"]


def test_a_referral_without_the_rules_field_is_not_assessable(north_key):
    response = put(north_key, referral={"discharge_medication_list": True})
    front_door = response.json()["front_door"]
    assert front_door["eligibility"] == "not_assessable"
    assert front_door["rules"][0]["outcome"] == "cannot be checked"


def test_an_old_partner_sending_none_of_the_new_fields_keeps_working_and_keeps_the_referral(
    north_key,
):
    put(north_key, referral_source="GP", referral=COMPLETE_REFERRAL)
    response = put(north_key, risk_tier="low")  # an old partner's body
    assert response.status_code == 200
    body = response.json()
    assert body["risk_tier"] == "low"
    assert body["referral_source"] == "GP" and body["referral"] == COMPLETE_REFERRAL
    assert not body["front_door"]["held_for_review"]


def test_a_pathway_without_a_front_door_holds_nothing(personas, tenant):
    from tests.pathways.exception_helpers import build_version

    build_version("plain")
    client = partner_client(personas.org, [personas.north])
    response = put(client, pathway="plain")
    assert response.status_code == 201
    assert response.json()["front_door"]["held_for_review"] is False
    assert response.json()["front_door"]["eligibility"] == ""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"referral_source": "x" * 101}, "referral_source"),
        ({"referral_source": 12}, "referral_source"),
        ({"referral": ["age"]}, "referral"),
        ({"referral": {"age": {"years": 70}}}, "referral.age"),
        ({"referral": {"note": "x" * 1001}}, "referral.note"),
        ({"referral": {f"f{n}": 1 for n in range(51)}}, "referral"),
    ],
)
def test_unusable_referral_fields_are_a_400_naming_the_field_and_nothing_is_stored(
    north_key, changes, field
):
    response = put(north_key, **changes)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Case.dangerously_unscoped.exists()


def test_a_scored_assessment_stores_the_computed_tier_beside_the_partners(north_key):
    put(north_key, referral=COMPLETE_REFERRAL, risk_tier="low")
    assessment = event_payload(
        1,
        step="risk_assessment",
        data={"home_risk": "high", "medication_risk": "yes"},
    )
    assert north_key.post("/api/v1/events/", [assessment], format="json").status_code == 201
    case = stored()
    assert (case.risk_tier, case.computed_tier) == ("low", "high")
    # An earlier assessment arriving later does not replace the latest one.
    earlier = event_payload(
        2,
        step="risk_assessment",
        occurred_at="2026-03-02T09:00:00+00:00",
        data={"home_risk": "low", "medication_risk": "no"},
    )
    north_key.post("/api/v1/events/", [earlier], format="json")
    assert stored().computed_tier == "high"
    body = north_key.get("/api/v1/cases/C-1/").json()
    assert body["front_door"]["computed_tier"] == "high"


def test_a_safeguarding_concern_is_an_event_type(north_key):
    put(north_key, referral=COMPLETE_REFERRAL)
    concern = event_payload(1, type="safeguarding_concern", step=None, data={})
    assert north_key.post("/api/v1/events/", [concern], format="json").status_code == 201
