"""The evaluation of a change on what actually ran: the pilot site's cases in the pilot months
follow the pilot version; the evaluation counts only the pilot pathway's own cases (the pilot
version's at the pilot sites during the pilot), computed as the snapshot computes them, so its
figures equal the snapshot's where the pathway is alone at its sites and leave out another
pathway's cases where it is not; it says when there is too little data to judge, gives an
interval, and adoption activates the pilot version (rejection ends the pilot)."""

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
from tests.learning.pilot_cases import LATE, MARCH_REFERRAL, ON_TIME, intake_cases
from tests.learning.test_proposals import FEB, MARCH, cases, pilot, propose
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


def stored_figures(measure="timeliness", step="intake"):
    return {
        (site, month): (numerator, denominator)
        for site, month, numerator, denominator in SnapshotValue.objects.filter(
            measure=measure, step=step, dimension="all", segment="all"
        ).values_list("snapshot__site__code", "snapshot__month", "numerator", "denominator")
    }


def sides(row):
    return {
        name: (row[name]["numerator"], row[name]["denominator"])
        for name in ("pilot_before", "pilot_during", "others_before", "others_during")
    }


def test_evaluation_figures_are_the_snapshot_figures_of_the_pilot_cases(personas, base):
    """The pathway alone at its sites, and the pilot site's cases in March all pilot cases: the
    evaluation's four sides are exactly the snapshots' figures of the same sites and months.
    Intake due 36h instead of 48h at north in March: an intake 40h after referral is late for
    north's pilot cases and met for the network's cases."""
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
            hours = 40 if case.external_ref.endswith(("0", "1")) else 60
            complete(case, "intake", case.referral_at + timedelta(hours=hours))
        for month in (FEB, MARCH):
            assurance_snapshot_compute(
                organization=personas.org, month=month, now=datetime(2026, 4, 5, tzinfo=UTC)
            )
        evaluation = proposal_evaluation(proposal=proposal, today=APRIL_10)
        stored = stored_figures()
    [row] = evaluation["measures"]
    assert row["step"] == "intake"  # the step's own figure, as the cases have one
    assert evaluation["basis"] == "cases"
    assert evaluation["pilot_cases"] == {"on_pilot_version": 3, "referred": 3}
    assert sides(row) == {
        "pilot_before": stored[("north", FEB)],
        "pilot_during": stored[("north", MARCH)],
        "others_before": stored[("south", FEB)],
        "others_during": stored[("south", MARCH)],
    }
    # The pilot's own obligations: north's March intakes at 40h late against 36h, south's met.
    assert stored[("north", MARCH)] == (0.0, 3.0)
    assert stored[("south", MARCH)] == (2.0, 3.0)
    # Three cases a side is below the organisation's minimum denominator (10).
    assert row["verdict"] == "too little data to judge"
    assert row["interval"] is None
    assert "pilot sites during" in " ".join(row["too_little_data"])


def test_evaluation_counts_only_the_pilot_pathways_cases_at_a_shared_site(personas, base):
    """North also runs another pathway, all on time, and has a case of the piloted pathway
    referred before the pilot began whose intake falls due in the pilot month: the snapshot of
    North mixes them all, the evaluation counts only the pilot version's cases."""
    other = build_version(slug="other")
    proposal = pilot(propose(base, by=personas.lead), personas, start=date(2026, 3, 10))
    with tenancy.scope(personas.org):
        # The piloted pathway: north before 6 of 10 met; north's pilot cases 2 of 10 met.
        intake_cases(base, personas.north, datetime(2026, 2, 2, 9, tzinfo=UTC), met=6, late=4)
        intake_cases(
            proposal.pilot_version,
            personas.north,
            datetime(2026, 3, 11, 9, tzinfo=UTC),
            met=2,
            late=8,
        )
        # Referred at north on the network version before the pilot's start: not a pilot case.
        intake_cases(base, personas.north, MARCH_REFERRAL, met=5)
        # South on the network version: 7 of 10 each month.
        for referral in (datetime(2026, 2, 2, 9, tzinfo=UTC), MARCH_REFERRAL):
            intake_cases(base, personas.south, referral, met=7, late=3)
        # The other pathway at north, every intake on time, both months.
        for referral in (datetime(2026, 2, 2, 9, tzinfo=UTC), MARCH_REFERRAL):
            intake_cases(other, personas.north, referral, met=20, hours=(ON_TIME, LATE))
        for month in (FEB, MARCH):
            assurance_snapshot_compute(
                organization=personas.org, month=month, now=datetime(2026, 4, 5, tzinfo=UTC)
            )
        stored = stored_figures()
        [row] = proposal_evaluation(proposal=proposal, today=APRIL_10)["measures"]
    # The site's snapshot holds every pathway and version at north...
    assert stored[("north", FEB)] == (26.0, 30.0)
    assert stored[("north", MARCH)] == (27.0, 35.0)
    # ...the evaluation only the piloted pathway, and during the pilot only its pilot cases.
    assert sides(row) == {
        "pilot_before": (6.0, 10.0),
        "pilot_during": (2.0, 10.0),
        "others_before": (7.0, 10.0),
        "others_during": (7.0, 10.0),
    }
    assert (row["pilot_change"], row["others_change"], row["effect"]) == (-40.0, 0.0, -40.0)


def test_the_interval_covers_the_effect_and_no_difference_when_it_crosses_zero(personas, base):
    proposal = pilot(propose(base), personas)
    cases(proposal, {personas.north: (50, 50, 56, 44), personas.south: (50, 50, 50, 50)})
    evaluation = proposal_evaluation(proposal=proposal, today=APRIL_10)
    [row] = evaluation["measures"]
    low, high = row["interval"]
    assert low < row["effect"] == 6.0 < high
    assert low < 0 < high
    assert row["verdict"] == "no clear difference"
    assert "Wald" in evaluation["method"]


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
    proposal = pilot(propose(base, by=personas.lead), personas)
    cases(proposal, {personas.north: (50, 50, 80, 20), personas.south: (50, 50, 52, 48)})
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
        proposal = pilot(propose(base, by=personas.lead), personas)
        cases(proposal, {personas.north: (50, 50, 80, 20), personas.south: (50, 50, 52, 48)})
        change_proposal_evaluate(proposal=proposal, by=personas.lead, today=APRIL_10)
    url = reverse("learning_proposal_detail", kwargs={"org": personas.org.slug, "number": 1})
    page = personas.client(personas.lead).get(url).content.decode()
    assert "80 / 100" in page and "52 / 100" in page
    assert "Relative change (95% interval)" in page
    assert 'id="evaluation-method"' in page and "Wald" in page
    assert "this pathway's own cases" in page
    assert 'id="pilot-version"' in page
    assert "Adopt network-wide" in page


def test_the_evaluation_reads_a_bounded_number_of_queries_however_many_cases(personas, base):
    """Set-based: ten times the cases, the same queries (per month and side-group, not per case)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    proposal = pilot(propose(base), personas)
    proposal_evaluation(proposal=proposal, today=APRIL_10)  # first use creates the settings row
    counts = []
    for scale in (1, 10):
        cases(
            proposal,
            {
                personas.north: (2 * scale, scale, 2 * scale, scale),
                personas.south: (scale, scale, scale, scale),
            },
        )
        with CaptureQueriesContext(connection) as queries:
            [row] = proposal_evaluation(proposal=proposal, today=APRIL_10)["measures"]
        counts.append(len(queries))
        assert row["pilot_during"]["denominator"] == 3 * scale + (3 if scale == 10 else 0)
    assert counts[0] == counts[1]
