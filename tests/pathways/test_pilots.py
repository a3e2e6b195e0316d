"""Pilot versions and site variants: which version a new case is pinned to, and why.

A pilot holds referrals at its sites from its start instant (included) to its end instant
(excluded); a site's approved adaptations make its variant of the active version."""

import copy
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from pathways.extension_points import adaptation_guards
from pathways.models import Case, PathwayPilot, PathwayVersion
from pathways.selectors.exceptions import case_obligations
from pathways.selectors.routing import NETWORK, PILOT, SITE_VARIANT, referral_route
from pathways.services.pilots import pathway_pilot_adopt, pathway_pilot_end, pathway_pilot_start
from pathways.services.versions import (
    pathway_version_activate,
    site_adaptation_decide,
    site_adaptation_propose,
)
from scaling_ops import tenancy
from scaling_ops.models import Site
from tests.pathways.api_helpers import case_payload, event_payload, partner_client
from tests.pathways.version_helpers import import_version, with_adaptable_step

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 5, 1, tzinfo=UTC)


def piloted_definition() -> dict:
    """The network version with the intake standard tightened from 48 to 24 hours."""
    data = copy.deepcopy(with_adaptable_step())
    data["steps"][0]["time_standards"][0]["within_hours"] = 24
    return data


@pytest.fixture
def network(tenant):
    return import_version(with_adaptable_step(), activate=True)


@pytest.fixture
def pilot_version(network):
    return import_version(piloted_definition())


@pytest.fixture
def pilot(personas, pilot_version):
    return pathway_pilot_start(
        version=pilot_version,
        sites=[personas.north],
        starts_at=START,
        ends_at=END,
        by=personas.admin,
    )


@pytest.fixture
def north_key(personas, network):
    return partner_client(personas.org, [personas.north, personas.south])


def put_case(client, ref: str, **changes):
    response = client.put(
        f"/api/v1/cases/{ref}/", case_payload(pathway="hospital-to-home", **changes), format="json"
    )
    assert response.status_code in (200, 201), response.json()
    return response.json()


def route(personas, site, when):
    return referral_route(pathway_slug="hospital-to-home", site_id=site.pk, referral_at=when)


# --- routing at the boundaries ----------------------------------------------------------------


def test_a_referral_exactly_at_the_pilot_start_follows_the_pilot(personas, pilot, pilot_version):
    found = route(personas, personas.north, START)
    assert (found.version_id, found.basis) == (pilot_version.pk, PILOT)


def test_a_referral_just_before_the_start_follows_the_network(personas, pilot, network):
    found = route(personas, personas.north, START - timedelta(microseconds=1))
    assert (found.version_id, found.basis) == (network.pk, NETWORK)


def test_a_referral_exactly_at_the_pilot_end_follows_the_network(personas, pilot, network):
    found = route(personas, personas.north, END)
    assert (found.version_id, found.basis) == (network.pk, NETWORK)
    last = route(personas, personas.north, END - timedelta(microseconds=1))
    assert last.basis == PILOT


def test_other_sites_follow_the_network_during_the_pilot(personas, pilot, network):
    found = route(personas, personas.south, START + timedelta(days=3))
    assert (found.version_id, found.basis) == (network.pk, NETWORK)


def test_the_case_put_pins_a_pilot_case_and_says_why(personas, pilot, pilot_version, north_key):
    body = put_case(north_key, "P-1", referral_at="2026-03-01T00:00:00+00:00")
    assert body["pathway_version"] == pilot_version.number
    assert "during the pilot of v2" in body["pathway_version_reason"]
    other = put_case(north_key, "N-1", site="south", referral_at="2026-03-01T00:00:00+00:00")
    assert other["pathway_version"] == 1
    assert "network's active version" in other["pathway_version_reason"]


def test_a_case_stays_on_its_pinned_version_after_the_pilot_ends(
    personas, pilot, pilot_version, north_key
):
    put_case(north_key, "P-1", referral_at="2026-04-30T23:00:00+00:00")
    pathway_pilot_end(pilot=pilot, by=personas.admin, reason="Did not help.")
    # Updated after the pilot ended (even moved to a referral outside it): still pinned.
    body = put_case(north_key, "P-1", referral_at="2026-05-02T10:00:00+00:00", risk_tier="low")
    assert body["pathway_version"] == pilot_version.number
    with tenancy.scope(personas.org):
        assert Case.objects.get(external_ref="P-1").version_id == pilot_version.pk
        pilot_version.refresh_from_db()
    assert pilot_version.status == PathwayVersion.Status.RETIRED
    # First received after the pilot ended but referred while it ran: pinned as it would have
    # been on time (tests/pathways/test_late_referrals.py); referred after its end: the network.
    assert (
        put_case(north_key, "P-2", referral_at="2026-04-30T23:30:00+00:00")["pathway_version"]
        == pilot_version.number
    )
    assert put_case(north_key, "P-3", referral_at=END.isoformat())["pathway_version"] == 1


def test_the_case_page_says_which_version_and_why(personas, pilot, north_key):
    put_case(north_key, "P-1", referral_at="2026-03-02T09:00:00+00:00")
    url = reverse("case_detail", kwargs={"org": personas.org.slug, "external_ref": "P-1"})
    page = personas.client(personas.supervisor).get(url).content.decode()
    assert "Hospital-to-home stabilisation v2</a> (in pilot)" in page
    assert "during the pilot of v2" in page


def test_a_pilot_case_obligations_follow_the_pilot_definition(personas, pilot, north_key):
    put_case(north_key, "P-1", referral_at="2026-03-02T09:00:00+00:00")
    put_case(north_key, "N-1", site="south", referral_at="2026-03-02T09:00:00+00:00")
    with tenancy.scope(personas.org):
        due = {
            ref: {
                o["step"]: o["due_at"]
                for o in case_obligations(
                    case=Case.objects.get(external_ref=ref), at=datetime(2026, 3, 10, tzinfo=UTC)
                )
            }
            for ref in ("P-1", "N-1")
        }
    referral = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert due["P-1"]["intake"] == referral + timedelta(hours=24)
    assert due["N-1"]["intake"] == referral + timedelta(hours=48)


def test_a_pilot_case_events_name_the_pilot_versions_steps(personas, pilot, north_key):
    put_case(north_key, "P-1", referral_at="2026-03-02T09:00:00+00:00")
    response = north_key.post(
        "/api/v1/events/",
        event_payload(case="P-1", step="intake", occurred_at="2026-03-02T20:00:00+00:00"),
        format="json",
    )
    assert response.status_code == 201, response.json()


# --- refusals ---------------------------------------------------------------------------------


def test_a_pilot_at_a_site_that_is_not_live_is_refused(personas, pilot_version):
    with tenancy.scope(personas.org):
        Site.objects.filter(pk=personas.south.pk).update(status=Site.Status.LAUNCHING)
        south = Site.objects.get(pk=personas.south.pk)
    with pytest.raises(ValidationError) as caught:
        pathway_pilot_start(version=pilot_version, sites=[south], starts_at=START, ends_at=END)
    assert "is launching, not live: a pilot runs only at a live site" in str(caught.value)
    assert not PathwayPilot.objects.exists()
    pilot_version.refresh_from_db()
    assert pilot_version.status == PathwayVersion.Status.DRAFT


def test_only_one_pilot_of_a_pathway_per_site_at_a_time(personas, pilot):
    second = import_version(piloted_definition())
    with pytest.raises(ValidationError) as caught:
        pathway_pilot_start(
            version=second,
            sites=[personas.north, personas.south],
            starts_at=END - timedelta(days=1),
            ends_at=END + timedelta(days=30),
        )
    assert "already pilots v2" in str(caught.value)
    assert "only one pilot of a pathway per site at a time" in str(caught.value)
    # Back to back is fine: the first ends at the instant the second starts.
    pathway_pilot_start(
        version=second, sites=[personas.north], starts_at=END, ends_at=END + timedelta(days=30)
    )


def test_an_empty_period_and_an_active_version_are_refused(personas, network, pilot_version):
    with pytest.raises(ValidationError, match="must end after it starts"):
        pathway_pilot_start(
            version=pilot_version, sites=[personas.north], starts_at=END, ends_at=START
        )
    with pytest.raises(ValidationError, match="only a draft version can be put in pilot"):
        pathway_pilot_start(version=network, sites=[personas.north], starts_at=START, ends_at=END)


def test_a_pilot_version_is_frozen(pilot, pilot_version):
    from pathways.services.versions import pathway_version_replace_definition

    with pytest.raises(ValidationError, match="only a draft version"):
        pathway_version_replace_definition(version=pilot_version, data=piloted_definition())


# --- adopt and end ----------------------------------------------------------------------------


def test_adopting_makes_the_pilot_version_the_network_version(personas, pilot, pilot_version):
    version = pathway_pilot_adopt(
        pilot=pilot, by=personas.admin, reason="Faster intake held up.", rationale="CP-1 evidence"
    )
    assert version.status == PathwayVersion.Status.ACTIVE
    assert version.rationale == "CP-1 evidence"
    assert route(personas, personas.south, END + timedelta(days=1)).version_id == pilot_version.pk
    reasons = [row.history_change_reason for row in pilot_version.history.order_by("history_id")]
    assert any("adopted network-wide after its pilot: Faster intake held up." in r for r in reasons)
    with pytest.raises(ValidationError, match="already adopted"):
        pathway_pilot_end(pilot=pilot, by=personas.admin, reason="too late")


def test_ending_a_pilot_keeps_the_reason(personas, pilot):
    with pytest.raises(ValidationError, match="Say why"):
        pathway_pilot_end(pilot=pilot, by=personas.admin, reason=" ")
    pathway_pilot_end(pilot=pilot, by=personas.admin, reason="No change in intake times.")
    pilot.refresh_from_db()
    assert pilot.status == PathwayPilot.Status.REJECTED
    assert pilot.decision_reason == "No change in intake times."


# --- site variants ----------------------------------------------------------------------------


def adapt(personas, network, *, site=None, hours=(336,), step="weekly_review", approve=True):
    adaptation = site_adaptation_propose(
        site=site or personas.north,
        pathway=network.pathway,
        step_key=step,
        what="Fortnightly review by phone.",
        why="Ferry times make weekly visits impossible.",
        by=personas.lead,
        standard_hours=list(hours),
    )
    if approve:
        site_adaptation_decide(adaptation=adaptation, approve=True, by=personas.admin)
    return adaptation


def test_an_approved_adaptation_changes_that_sites_obligations_only(personas, network, north_key):
    adapt(personas, network)
    variant = PathwayVersion.objects.get(status=PathwayVersion.Status.VARIANT)
    assert (variant.variant_of, variant.variant_site) == (network, personas.north)
    north = put_case(north_key, "V-1", referral_at="2026-03-02T09:00:00+00:00")
    south = put_case(north_key, "S-1", site="south", referral_at="2026-03-02T09:00:00+00:00")
    assert north["pathway_version"] == variant.number and south["pathway_version"] == 1
    assert "North's site variant of v1" in north["pathway_version_reason"]
    for number, (ref, step) in enumerate(
        (("V-1", "intake"), ("V-1", "risk_assessment"), ("S-1", "intake")), start=1
    ):
        response = north_key.post(
            "/api/v1/events/",
            event_payload(
                number=number,
                case=ref,
                step=step,
                occurred_at="2026-03-02T12:00:00+00:00",
                data={"complete": True, "home_risk": "low", "medication_risk": "low"},
            ),
            format="json",
        )
        assert response.status_code == 201, response.json()
    with tenancy.scope(personas.org):
        cases = {c.external_ref: c for c in Case.objects.all()}
        due = {
            ref: {
                o["step"]: o["due_at"]
                for o in case_obligations(case=case, at=datetime(2026, 3, 10, tzinfo=UTC))
            }
            for ref, case in cases.items()
        }
    noon = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert due["V-1"]["weekly_review"] == noon + timedelta(hours=336)
    assert due["V-1"]["intake"] == datetime(2026, 3, 4, 9, tzinfo=UTC)  # core step unchanged
    variant_steps = {s.key: s.core for s in variant.steps.all()}
    assert variant_steps["intake"] is True


def test_a_proposed_adaptation_changes_nothing_until_approved(personas, network):
    adapt(personas, network, approve=False)
    assert not PathwayVersion.objects.filter(status=PathwayVersion.Status.VARIANT).exists()
    assert route(personas, personas.north, START).basis == NETWORK


def test_a_core_step_is_refused_with_the_reason_named(personas, network):
    with pytest.raises(ValidationError) as caught:
        adapt(personas, network, step="intake", hours=(72,))
    assert "'intake' (Intake) is a core step" in str(caught.value)


def test_a_contract_protected_step_is_refused_by_the_contract(personas, network):
    def contract_guard(site, pathway, step_key):
        return [f"Contract C-7 fixes {step_key} at {site.code}."]

    with adaptation_guards.overridden(contract_guard), pytest.raises(ValidationError) as caught:
        adapt(personas, network)
    assert "Contract C-7 fixes weekly_review at north." in str(caught.value)
    assert not PathwayVersion.objects.filter(status=PathwayVersion.Status.VARIANT).exists()


def test_hours_must_match_the_steps_standards(personas, network):
    with pytest.raises(ValidationError, match="has 1 time standard"):
        adapt(personas, network, hours=(100, 200))
    with pytest.raises(ValidationError, match="not a time standard"):
        adapt(personas, network, hours=(0,))


def test_a_new_network_version_carries_the_sites_adaptation_over(personas, network):
    adapt(personas, network)
    newer = import_version(piloted_definition())
    pathway_version_activate(version=newer, by=personas.admin)
    variants = PathwayVersion.objects.filter(status=PathwayVersion.Status.VARIANT)
    assert [(v.variant_of_id, v.variant_site_id) for v in variants] == [
        (newer.pk, personas.north.pk)
    ]
    found = route(personas, personas.north, END)
    assert found.basis == SITE_VARIANT and found.version_id == variants[0].pk


def test_a_running_pilot_wins_over_the_sites_variant(personas, network, pilot, pilot_version):
    adapt(personas, network)
    assert route(personas, personas.north, START).version_id == pilot_version.pk
    assert route(personas, personas.north, END).basis == SITE_VARIANT


def test_the_version_page_shows_each_sites_variant_as_a_diff(personas, network):
    adapt(personas, network)
    url = reverse(
        "version_detail",
        kwargs={"org": personas.org.slug, "pathway": "hospital-to-home", "number": 1},
    )
    page = personas.client(personas.admin).get(url).content.decode()
    assert 'id="site-variants"' in page
    assert "North" in page and "weekly_review" in page and "336" in page


def test_the_propose_form_takes_the_hours_and_the_detail_shows_the_variant(personas, network):
    client = personas.client(personas.lead)
    url = reverse("adaptation_list", kwargs={"org": personas.org.slug})
    form = {
        "site": "north",
        "step": "hospital-to-home:weekly_review",
        "what": "Fortnightly review by phone.",
        "why": "Ferry times.",
        "standard_hours": "336",
        "script": "Call on ferry-day mornings.",
    }
    refused = client.post(url, {**form, "standard_hours": "two weeks"})
    assert refused.status_code == 400
    assert "is not a number of hours; write e.g. 48, 336." in refused.content.decode()
    wrong = client.post(url, {**form, "standard_hours": "100, 200"})
    assert "has 1 time standard(s)" in wrong.content.decode()
    response = client.post(url, form)
    assert response.status_code == 302
    detail = response["Location"]
    decide = detail + "decide/"
    assert personas.client(personas.commissioner).post(decide).status_code in (403, 404)
    assert client.post(decide, {"decision": "approve"}).status_code == 302
    page = client.get(detail).content.decode()
    assert "336 hours" in page and "Call on ferry-day mornings." in page
    assert "North's new cases follow" in page and ">v2</a>, its variant of" in page
