"""The change-proposal life-cycle: proposal → pilot (a pilot version the pilot sites' cases follow)
→ evaluation → adopt (the pilot version, carrying the rationale, becomes the network's version,
shown on the version page) or reject (the reason kept, the pilot ended). No adoption without an
evaluation."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assurance.models import AssuranceSnapshot, SnapshotValue
from learning.models import ChangeProposal
from learning.services import (
    change_proposal_adopt,
    change_proposal_create,
    change_proposal_evaluate,
    change_proposal_reject,
    change_proposal_start_pilot,
)
from learning.services.proposals import proposal_evaluation
from pathways.models import PathwayVersion
from pathways.selectors.versions import pathway_version_definition
from scaling_ops import tenancy
from tests.factories import SiteFactory
from tests.learning.pilot_cases import FEB_REFERRAL, MARCH_REFERRAL, intake_cases
from tests.pathways.exception_helpers import build_version

FEB, MARCH = date(2026, 2, 1), date(2026, 3, 1)


def snapshot(site, month, numerator, denominator, measure="timeliness", step=""):
    snap = AssuranceSnapshot.objects.create(
        site=site,
        month=month,
        revision=1,
        computed_at=datetime(2026, 4, 2, tzinfo=UTC),
        cutoff=datetime(2026, 4, 1, tzinfo=UTC),
    )
    SnapshotValue.objects.create(
        snapshot=snap,
        measure=measure,
        step=step,
        dimension="all",
        segment="all",
        numerator=numerator,
        denominator=denominator,
        value=100.0 * numerator / denominator,
    )
    return snap


@pytest.fixture
def base(tenant):
    return build_version()


def propose(base, by=None, **changes):
    definition = pathway_version_definition(base).to_dict()
    definition["steps"][0]["time_standards"][0]["within_hours"] = 36
    return change_proposal_create(
        pathway=base.pathway,
        title="Intake within 36 hours",
        change_kind="standard",
        step_key="intake",
        change="Intake is due 36 hours after referral instead of 48.",
        rationale="North found that a next-morning intake slot keeps first visits on time.",
        evidence="Late intakes at three sites this quarter.",
        definition=definition,
        by=by,
        **{"measures": ["timeliness"], **changes},
    )


def pilot(proposal, personas, start=MARCH, end=date(2026, 3, 31)):
    return change_proposal_start_pilot(
        proposal=proposal, by=personas.lead, sites=[personas.north], start=start, end=end
    )


def cases(proposal, sites: dict):
    """Intake cases per site: (February met, late, March met, late). The pilot sites' March cases
    follow the pilot version (36 hours), the others the base version (48 hours)."""
    pilot_sites = set(proposal.pilot_sites.all())
    for site, (feb_met, feb_late, march_met, march_late) in sites.items():
        intake_cases(proposal.base_version, site, FEB_REFERRAL, met=feb_met, late=feb_late)
        version = proposal.pilot_version if site in pilot_sites else proposal.base_version
        intake_cases(version, site, MARCH_REFERRAL, met=march_met, late=march_late)


def test_a_proposal_cannot_be_adopted_before_it_is_piloted_and_evaluated(personas, base):
    proposal = propose(base, by=personas.lead)
    with pytest.raises(ValidationError, match="no evaluation"):
        change_proposal_adopt(proposal=proposal, by=personas.lead, reason="Looks good")
    pilot(proposal, personas)
    with pytest.raises(ValidationError, match="no evaluation"):
        change_proposal_adopt(proposal=proposal, by=personas.lead, reason="Looks good")
    # Piloting made the pilot version; nothing was adopted.
    assert list(
        PathwayVersion.objects.filter(pathway=base.pathway).values_list("status", flat=True)
    ) == [PathwayVersion.Status.PILOT, PathwayVersion.Status.ACTIVE]


def test_evaluation_needs_figures_of_the_pilot_cases(personas, base):
    proposal = pilot(propose(base), personas)
    # Other sites' cases and snapshots alone do not evaluate a pilot.
    intake_cases(base, personas.south, MARCH_REFERRAL, met=20)
    snapshot(personas.north, MARCH, 80, 100)
    with pytest.raises(ValidationError, match="No pilot case has a figure"):
        change_proposal_evaluate(proposal=proposal, by=personas.lead, today=date(2026, 4, 10))
    assert proposal.status == ChangeProposal.Status.PILOTING


def test_evaluation_compares_pilot_sites_before_and_during_against_the_others(personas, base):
    east = SiteFactory(organization=personas.org, code="east")
    proposal = pilot(propose(base), personas)
    cases(
        proposal,
        {
            personas.north: (50, 50, 80, 20),  # pilot before 50%, during 80% (+30)
            personas.south: (60, 40, 70, 30),  # others before (60+40)/200 = 50%,
            east: (40, 60, 50, 50),  # during (70+50)/200 = 60% (+10)
        },
    )
    evaluation = proposal_evaluation(proposal=proposal, today=date(2026, 4, 10))
    [row] = evaluation["measures"]
    assert evaluation["before_months"] == ["2026-02"]
    assert evaluation["pilot_months"] == ["2026-03"]
    assert evaluation["pilot_sites"] == ["north"]
    assert evaluation["other_sites"] == ["east", "south"]
    # The step's own figure (the overall one also counts the assessments due after intake).
    assert row["step"] == "intake"
    assert row["pilot_during"] == {"numerator": 80.0, "denominator": 100.0, "value": 80.0}
    assert row["others_before"] == {"numerator": 100.0, "denominator": 200.0, "value": 50.0}
    assert (row["pilot_before"]["value"], row["pilot_during"]["value"]) == (50.0, 80.0)
    assert (row["others_before"]["value"], row["others_during"]["value"]) == (50.0, 60.0)
    assert (row["pilot_change"], row["others_change"], row["effect"]) == (30.0, 10.0, 20.0)
    assert row["verdict"] == "improved"


def test_adoption_activates_the_pilot_version_carrying_the_change_and_rationale(personas, base):
    proposal = pilot(propose(base, by=personas.lead), personas)
    cases(proposal, {personas.north: (50, 50, 80, 20), personas.south: (50, 50, 55, 45)})
    change_proposal_evaluate(proposal=proposal, by=personas.lead, today=date(2026, 4, 10))
    assert proposal.status == ChangeProposal.Status.EVALUATED
    assert "relative change +25.0 (95% interval +6.3 to +43.7) (improved)" in (
        proposal.evaluation_summary
    )

    version = change_proposal_adopt(
        proposal=proposal, by=personas.lead, reason="Better at the pilot site than elsewhere."
    )

    assert version.status == PathwayVersion.Status.ACTIVE
    assert version == proposal.pilot_version
    assert version.number == base.number + 1
    base.refresh_from_db()
    assert base.status == PathwayVersion.Status.RETIRED
    assert "CP-1" in version.rationale
    assert "North found that a next-morning intake slot" in version.rationale
    assert "Late intakes at three sites" in version.rationale
    assert "relative change +25.0" in version.rationale
    assert "Better at the pilot site" in version.rationale
    intake = pathway_version_definition(version).step("intake")
    assert intake.time_standards[0].within_hours == 36
    proposal.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.ADOPTED
    assert proposal.adopted_version == version
    with pytest.raises(ValidationError):
        change_proposal_adopt(proposal=proposal, by=personas.lead, reason="again")
    reasons = list(proposal.history.values_list("history_change_reason", flat=True))
    assert any(r.startswith("Pilot at north") for r in reasons)
    assert "Evaluated" in reasons


def test_the_version_page_shows_what_changed_why_and_the_evidence(personas, base):
    with tenancy.scope(personas.org):
        proposal = pilot(propose(base, by=personas.lead), personas)
        cases(proposal, {personas.north: (5, 5, 8, 2)})
        change_proposal_evaluate(proposal=proposal, by=personas.lead, today=date(2026, 4, 10))
        version = change_proposal_adopt(proposal=proposal, by=personas.lead, reason="Adopt it.")
    url = reverse(
        "version_detail",
        kwargs={
            "org": personas.org.slug,
            "pathway": version.pathway.slug,
            "number": version.number,
        },
    )
    body = personas.client(personas.commissioner).get(url).content.decode()
    assert 'id="change-proposal-panel"' in body
    assert "Intake is due 36 hours after referral instead of 48." in body
    assert "Late intakes at three sites this quarter." in body
    assert "Pilot before" in body


def test_rejection_keeps_the_reason(personas, base):
    proposal = propose(base)
    with pytest.raises(ValidationError):
        change_proposal_reject(proposal=proposal, by=personas.lead, reason="  ")
    change_proposal_reject(proposal=proposal, by=personas.lead, reason="Not safe for high risk.")
    proposal.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.REJECTED
    assert proposal.decision_reason == "Not safe for high risk."
    with pytest.raises(ValidationError):
        pilot(proposal, personas)


def test_an_invalid_definition_is_refused_with_its_path(personas, base):
    definition = pathway_version_definition(base).to_dict()
    definition["steps"][0]["time_standards"][0]["anchor"] = "nowhere"
    with pytest.raises(ValidationError) as error:
        change_proposal_create(
            pathway=base.pathway,
            title="Broken",
            change_kind="standard",
            change="x",
            rationale="y",
            definition=definition,
        )
    assert "steps[0].time_standards[0].anchor" in str(error.value)


def test_the_lifecycle_through_the_pages(personas, base):
    with tenancy.scope(personas.org):
        proposal = propose(base, by=personas.lead)
    client = personas.client(personas.lead)
    url = reverse("learning_proposal_detail", kwargs={"org": personas.org.slug, "number": 1})
    adopt = {"form": "adopt", "adopt-reason": "Yes"}
    refused = client.post(url, adopt)
    assert refused.status_code == 400
    assert "no evaluation" in refused.content.decode()
    response = client.post(
        url, {"form": "pilot", "sites": ["north"], "start": "2026-03-01", "end": "2026-03-31"}
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        proposal.refresh_from_db()
        cases(proposal, {personas.north: (5, 5, 8, 2)})
    assert client.post(url, {"form": "evaluate", "summary": ""}).status_code == 302
    assert client.post(url, adopt).status_code == 302
    with tenancy.scope(personas.org):
        proposal.refresh_from_db()
        assert proposal.status == ChangeProposal.Status.ADOPTED
        assert proposal.adopted_version.status == PathwayVersion.Status.ACTIVE
    page = client.get(url).content.decode()
    assert 'id="adopted-version"' in page


def test_a_site_measure_is_named_as_not_measured_on_the_pilots_cases(personas, base):
    """Audits belong to a site and a month, not to a case: the evaluation says so rather than
    mixing in every pathway's audits at the pilot sites."""
    proposal = pilot(propose(base, measures=["timeliness", "audit_score"]), personas)
    cases(proposal, {personas.north: (5, 5, 8, 2), personas.south: (6, 4, 6, 4)})
    snapshot(personas.north, MARCH, 9, 10, measure="audit_score")
    change_proposal_evaluate(proposal=proposal, by=personas.lead, today=date(2026, 4, 10))
    timeliness, audits = proposal.evaluation["measures"]
    assert timeliness["pilot_during"]["denominator"] == 10.0
    assert audits["verdict"] == "not measured on the pilot's cases"
    assert audits["pilot_during"]["denominator"] == 0.0
    assert "a site measure, not measured on the pilot's cases" in proposal.evaluation_summary
    url = reverse("learning_proposal_detail", kwargs={"org": personas.org.slug, "number": 1})
    page = personas.client(personas.lead).get(url).content.decode()
    assert "not measured on the pilot&#x27;s cases" in page
    # Measures by their names, never their codes.
    assert "Measures it should move: Timeliness compliance, Record audit score." in page
    assert "audit_score" not in page.split("2. Evaluation")[1].split("History")[0]
