"""Per-site figures on learning reviews and change proposals stay within the member's sites: a
supervisor of North and South never sees East's figures (pages, CSV, the version page's panel);
a lead with every site still sees them."""

from datetime import date

import pytest
from django.urls import reverse

from learning.services import (
    change_proposal_evaluate,
    deviation_log,
    learning_review_create,
)
from scaling_ops import services, tenancy
from scaling_ops.models import Role
from tests.factories import SiteFactory, UserFactory
from tests.learning.test_proposals import FEB, MARCH, cases, pilot, propose, snapshot
from tests.pathways.exception_helpers import build_version

# East's figures, distinctive enough that a leak is easy to find.
EAST_FEB, EAST_MARCH = (37, 91), (59, 83)  # 40.7%, 71.1%
EAST_MARCH_CASES = (EAST_MARCH[0], EAST_MARCH[1] - EAST_MARCH[0])
EAST_TEXTS = ("East", "37/91", "59/83", "40.7", "71.1")


@pytest.fixture
def scoped(personas):
    """East as a third site, a supervisor of North and South, and March figures for all three."""
    with tenancy.scope(personas.org):
        east = SiteFactory(organization=personas.org, code="east", name="East")
        two_sites = UserFactory(username="nora")
        services.membership_set(
            user=two_sites,
            organization=personas.org,
            role=Role.SUPERVISOR,
            all_sites=False,
            sites=[personas.north, personas.south],
        )
        for site, feb, march in [
            (personas.north, (50, 100), (60, 100)),
            (personas.south, (40, 100), (45, 100)),
            (east, EAST_FEB, EAST_MARCH),
        ]:
            snapshot(site, FEB, *feb)
            snapshot(site, MARCH, *march)
    return east, two_sites


def page(personas, user, name, **kwargs):
    response = personas.client(user).get(reverse(name, kwargs={"org": personas.org.slug, **kwargs}))
    assert response.status_code == 200
    return response.content.decode()


def test_a_review_shows_a_scoped_member_only_their_sites_figures(personas, scoped):
    east, two_sites = scoped
    with tenancy.scope(personas.org):
        for site in (personas.north, east):
            deviation_log(
                category="workaround", step="intake", site=site, occurred_on=date(2026, 3, 3)
            )
        review = learning_review_create(
            title="Q1 review",
            cadence="monthly",
            period_start=MARCH,
            period_end=date(2026, 3, 31),
            held_on=date(2026, 4, 5),
            sites=[personas.north, personas.south, east],
            measures=["timeliness"],
            by=personas.lead,
        )
    body = page(personas, two_sites, "learning_review_detail", number=review.number)
    for text in EAST_TEXTS:
        assert text not in body
    assert "60/100" in body and "45/100" in body
    # Pooled over North and South only: (60 + 45) / 200.
    assert "Your sites pooled" in body and "52.5" in body
    assert "1 site outside yours" in body
    lead_body = page(personas, personas.lead, "learning_review_detail", number=review.number)
    assert "59/83" in lead_body and "East" in lead_body


@pytest.fixture
def east_pilot(personas, scoped):
    east, two_sites = scoped
    with tenancy.scope(personas.org):
        version = build_version()
        proposal = pilot(propose(version, by=personas.lead), personas)
        proposal.pilot_sites.set([east])
        # The evaluation reads the pathway's cases: East's are the pilot's, with East's figures.
        cases(
            proposal,
            {
                east: (EAST_FEB[0], EAST_FEB[1] - EAST_FEB[0], *EAST_MARCH_CASES),
                personas.north: (50, 50, 60, 40),
                personas.south: (40, 60, 45, 55),
            },
        )
        proposal = change_proposal_evaluate(
            proposal=proposal, by=personas.lead, today=date(2026, 4, 10)
        )
    return proposal, two_sites


def test_a_proposal_evaluation_withholds_a_group_holding_a_site_outside_the_members(
    personas, east_pilot
):
    proposal, two_sites = east_pilot
    body = page(personas, two_sites, "learning_proposal_detail", number=proposal.number)
    for text in ("40.7", "71.1", "+30.4"):
        assert text not in body
    assert "Figures withheld" in body
    assert "improved" in body or "worsened" in body or "no clear difference" in body
    lead_body = page(personas, personas.lead, "learning_proposal_detail", number=proposal.number)
    assert "40.7" in lead_body and "71.1" in lead_body


def test_the_proposal_csv_withholds_the_figures_too(personas, east_pilot):
    proposal, two_sites = east_pilot
    url = reverse("learning_proposal_list", kwargs={"org": personas.org.slug})
    body = personas.client(two_sites).get(f"{url}?format=csv").content.decode()
    assert "+30.4" not in body and "Figures withheld" in body
    lead_body = personas.client(personas.lead).get(f"{url}?format=csv").content.decode()
    assert "+30.4" in lead_body
