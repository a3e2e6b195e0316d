"""The evaluation of a change on what actually ran: the pilot site's cases in the pilot months
follow the pilot version, the evaluation reads the same snapshot figures those cases make, says
when there is too little data to judge, gives an interval, and adoption activates the pilot
version (rejection ends the pilot)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from assurance.models import SnapshotValue
from assurance.services import assurance_snapshot_compute
from learning.models import ChangeProposal
from learning.services import (
    change_proposal_adopt,
    change_proposal_evaluate,
    change_proposal_reject,
)
from learning.services.proposals import _interval, proposal_evaluation
from pathways.models import Case, PathwayPilot, PathwayVersion
from pathways.selectors.routing import NETWORK, referral_route
from scaling_ops import tenancy
from scaling_ops.models import Site
from tests.learning.test_proposals import FEB, MARCH, pilot, propose, snapshot
from tests.pathways.api_helpers import case_payload, partner_client
from tests.pathways.exception_helpers import build_version, complete

APRIL_10 = date(2026, 4, 10)


@pytest.fixture
def base(tenant):
    return build_version()


def refer(client, ref, site, referral_at):
    response = client.put(
        f"/api/v1/cases/{ref}/",
        case_payload(site=site, referral_at=referral_at.isoformat()),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_evaluation_figures_are_the_snapshot_figures_of_the_pilot_cases(personas, base):
    """Intake due 36h instead of 48h at north in March: an intake 40h after referral is late
    for north's pilot cases and met for south's network cases."""
    proposal = pilot(propose(base, by=personas.lead), personas)
    client = partner_client(personas.org, [personas.north, personas.south])
    for month_start, tag in (
        (datetime(2026, 2, 2, 9, tzinfo=UTC), "F"),
        (datetime(2026, 3, 2, 9, tzinfo=UTC), "M"),
    ):
        for number in range(3):
            for site in ("north", "south"):
                referral = month_start + timedelta(days=3 * number)
                body = refer(client, f"{site}-{tag}{number}", site, referral)
                if tag == "M" and site == "north":
                    assert body["pathway_version"] == proposal.pilot_version.number
                else:
                    assert body["pathway_version"] == base.number
    with tenancy.scope(personas.org):
        for case in Case.objects.all():
            complete(case, "intake", case.referral_at + timedelta(hours=40))
        for month in (FEB, MARCH):
            assurance_snapshot_compute(
                organization=personas.org, month=month, now=datetime(2026, 4, 5, tzinfo=UTC)
            )
        evaluation = proposal_evaluation(proposal=proposal, today=APRIL_10)
        stored = {
            (site, month): (numerator, denominator)
            for site, month, numerator, denominator in SnapshotValue.objects.filter(
                measure="timeliness", step="intake", dimension="all"
            ).values_list("snapshot__site__code", "snapshot__month", "numerator", "denominator")
        }
    [row] = evaluation["measures"]
    assert row["step"] == "intake"  # the step's own figure, as the snapshot carries one
    assert evaluation["pilot_cases"] == {"on_pilot_version": 3, "referred": 3}
    during = row["pilot_during"]
    assert (during["numerator"], during["denominator"]) == stored[("north", MARCH)]
    before = row["pilot_before"]
    assert (before["numerator"], before["denominator"]) == stored[("north", FEB)]
    others = row["others_during"]
    assert (others["numerator"], others["denominator"]) == stored[("south", MARCH)]
    # The pilot's own obligations: every north March intake late against 36h, south's met.
    assert during["value"] < row["others_during"]["value"]
    # Three cases a side is below the organisation's minimum denominator (10).
    assert row["verdict"] == "too little data to judge"
    assert row["interval"] is None
    assert "pilot sites during" in " ".join(row["too_little_data"])


def test_the_interval_covers_the_effect_and_no_difference_when_it_crosses_zero(personas, base):
    snapshot(personas.north, FEB, 50, 100)
    snapshot(personas.north, MARCH, 56, 100)
    snapshot(personas.south, FEB, 50, 100)
    snapshot(personas.south, MARCH, 50, 100)
    proposal = pilot(propose(base), personas)
    [row] = proposal_evaluation(proposal=proposal, today=APRIL_10)["measures"]
    low, high = row["interval"]
    assert low < row["effect"] == 6.0 < high
    assert low < 0 < high
    assert row["verdict"] == "no clear difference"


def test_the_interval_of_four_rates():
    side = {"numerator": 50.0, "denominator": 100.0}
    # Four rates of 50% on 100: variance 4 × 0.0025, half-width 1.96 × 0.1 × 100 = 19.6 points.
    assert _interval(10.0, [side] * 4, "percent") == (-9.6, 29.6)
    assert _interval(10.0, [side] * 4, "count") is None


def test_adoption_without_an_evaluation_is_refused_and_the_pilot_keeps_running(personas, base):
    proposal = pilot(propose(base), personas)
    with pytest.raises(Exception, match="no evaluation"):
        change_proposal_adopt(proposal=proposal, by=personas.lead, reason="Looks good")
    assert PathwayPilot.objects.get().status == PathwayPilot.Status.RUNNING
    assert proposal.pilot_version.status == PathwayVersion.Status.PILOT


def test_adoption_activates_the_pilot_version_with_the_decision_in_its_history(personas, base):
    for site, before, during in ((personas.north, 50, 80), (personas.south, 50, 52)):
        snapshot(site, FEB, before, 100)
        snapshot(site, MARCH, during, 100)
    proposal = pilot(propose(base, by=personas.lead), personas)
    change_proposal_evaluate(proposal=proposal, by=personas.lead, today=APRIL_10)
    assert "95% interval" in proposal.evaluation_summary
    version = change_proposal_adopt(proposal=proposal, by=personas.lead, reason="Clearly better.")
    assert version.pk == proposal.pilot_version_id
    assert version.status == PathwayVersion.Status.ACTIVE
    assert "Evaluation:" in version.rationale and "Clearly better." in version.rationale
    reasons = list(version.history.values_list("history_change_reason", flat=True))
    assert any("adopted network-wide after its pilot: Clearly better." in r for r in reasons)
    assert any("in pilot for CP-1 at north" in r for r in reasons)
    later = datetime.now(UTC)
    assert (
        referral_route(pathway_slug="h2h", site_id=personas.south.pk, referral_at=later).version_id
        == version.pk
    )


def test_rejection_ends_the_pilot_and_keeps_the_reason(personas, base):
    proposal = pilot(propose(base), personas, start=MARCH, end=date(2027, 1, 31))
    change_proposal_reject(proposal=proposal, by=personas.lead, reason="Unsafe for high risk.")
    pilot_row = PathwayPilot.objects.get()
    assert pilot_row.status == PathwayPilot.Status.REJECTED
    assert "Unsafe for high risk." in pilot_row.decision_reason
    proposal.pilot_version.refresh_from_db()
    assert proposal.pilot_version.status == PathwayVersion.Status.RETIRED
    route = referral_route(
        pathway_slug="h2h", site_id=personas.north.pk, referral_at=datetime.now(UTC)
    )
    assert (route.version_id, route.basis) == (base.pk, NETWORK)


def test_the_pilot_form_names_a_site_that_is_not_live_and_stores_nothing(personas, base):
    with tenancy.scope(personas.org):
        Site.objects.filter(pk=personas.south.pk).update(status=Site.Status.PAUSED)
        propose(base, by=personas.lead)
    url = reverse("learning_proposal_detail", kwargs={"org": personas.org.slug, "number": 1})
    response = personas.client(personas.lead).post(
        url, {"form": "pilot", "sites": ["south"], "start": "2026-03-01", "end": "2026-03-31"}
    )
    assert response.status_code == 400
    assert "South is paused, not live: a pilot runs only at a live site" in (
        response.content.decode()
    )
    assert PathwayVersion.dangerously_unscoped.count() == 1
    assert ChangeProposal.dangerously_unscoped.get().status == ChangeProposal.Status.PROPOSED


def test_the_proposal_page_shows_each_sides_counts_and_the_interval(personas, base):
    with tenancy.scope(personas.org):
        for site, before, during in ((personas.north, 50, 80), (personas.south, 50, 52)):
            snapshot(site, FEB, before, 100)
            snapshot(site, MARCH, during, 100)
        proposal = pilot(propose(base, by=personas.lead), personas)
        change_proposal_evaluate(proposal=proposal, by=personas.lead, today=APRIL_10)
    url = reverse("learning_proposal_detail", kwargs={"org": personas.org.slug, "number": 1})
    page = personas.client(personas.lead).get(url).content.decode()
    assert "80 / 100" in page and "52 / 100" in page
    assert "Relative change (95% interval)" in page
    assert 'id="pilot-version"' in page
    assert "Adopt network-wide" in page
