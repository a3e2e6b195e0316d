"""Site adaptations: only adaptable steps of the active version may vary by site, proposals are
decided once, and every move keeps its history."""

import pytest
from django.core.exceptions import ValidationError

from pathways.extension_points import adaptation_guards
from pathways.models import Pathway, SiteAdaptation
from pathways.services.versions import (
    pathway_version_activate,
    site_adaptation_decide,
    site_adaptation_propose,
)
from tests.pathways.version_helpers import example, import_version, with_adaptable_step


@pytest.fixture
def pathway(tenant):
    import_version(with_adaptable_step(), activate=True)
    return Pathway.objects.get()


def propose(personas, pathway, step_key="weekly_review", site=None, **changes):
    fields = {
        "what": "Review by phone every other week for people living on the islands.",
        "why": "Ferry times make weekly in-person reviews impossible.",
    }
    fields.update(changes)
    return site_adaptation_propose(
        site=site or personas.north, pathway=pathway, step_key=step_key, by=personas.lead, **fields
    )


def test_an_adaptable_step_can_be_proposed_for_a_site(personas, pathway):
    adaptation = propose(personas, pathway)
    assert adaptation.status == SiteAdaptation.Status.PROPOSED
    assert (adaptation.site, adaptation.step_key) == (personas.north, "weekly_review")
    assert adaptation.proposed_by == personas.lead
    assert adaptation.decided_at is None


def test_adapting_a_core_step_is_refused_with_a_message_naming_it(personas, pathway):
    with pytest.raises(ValidationError) as caught:
        propose(personas, pathway, step_key="risk_assessment")
    message = " ".join(caught.value.messages)
    assert "'risk_assessment' (Risk stratification) is a core step" in message
    assert "core steps are protected and cannot vary by site" in message
    assert not SiteAdaptation.objects.exists()


def test_adapting_a_step_the_active_version_lacks_is_refused(personas, pathway):
    with pytest.raises(ValidationError) as caught:
        propose(personas, pathway, step_key="home_visit")
    message = " ".join(caught.value.messages)
    assert "Step 'home_visit' does not exist in Hospital-to-home stabilisation v1" in message
    assert "Adaptable steps are: weekly_review." in message
    assert not SiteAdaptation.objects.exists()


def test_a_step_adaptable_only_in_a_draft_is_still_refused(personas, pathway):
    draft = example()
    draft["steps"][1]["core"] = False
    import_version(draft)  # v2, a draft: v1 (risk_assessment core) stays active
    with pytest.raises(ValidationError, match="core steps are protected"):
        propose(personas, pathway, step_key="risk_assessment")


def test_a_pathway_without_an_active_version_cannot_be_adapted(personas, tenant):
    import_version(with_adaptable_step(example(slug="draft-only")))
    pathway = Pathway.objects.get(slug="draft-only")
    with pytest.raises(ValidationError, match="has no active version"):
        propose(personas, pathway)


def test_a_proposal_needs_what_and_why(personas, pathway):
    with pytest.raises(ValidationError) as caught:
        propose(personas, pathway, what="  ", why="")
    assert set(caught.value.message_dict) == {"what", "why"}


def test_registered_adaptation_guards_can_refuse_a_proposal(personas, pathway):
    calls = []

    def contract_guard(site, pathway_, step_key):
        calls.append((site.code, pathway_.slug, step_key))
        return [f"The {site.code} contract fixes how {step_key} is delivered."]

    with adaptation_guards.overridden(contract_guard), pytest.raises(ValidationError) as caught:
        propose(personas, pathway)
    assert caught.value.messages == ["The north contract fixes how weekly_review is delivered."]
    assert calls == [("north", "hospital-to-home", "weekly_review")]
    assert not SiteAdaptation.objects.exists()


def test_guards_that_find_nothing_let_the_proposal_through(personas, pathway):
    with adaptation_guards.overridden(lambda *args: []):
        assert propose(personas, pathway).pk is not None


def test_approval_records_who_decided_and_when(personas, pathway):
    adaptation = propose(personas, pathway)
    site_adaptation_decide(adaptation=adaptation, approve=True, by=personas.admin)
    adaptation.refresh_from_db()
    assert adaptation.status == SiteAdaptation.Status.APPROVED
    assert adaptation.decided_by == personas.admin
    assert adaptation.decided_at is not None


def test_rejection_records_who_decided(personas, pathway):
    adaptation = propose(personas, pathway)
    site_adaptation_decide(adaptation=adaptation, approve=False, by=personas.admin)
    adaptation.refresh_from_db()
    assert adaptation.status == SiteAdaptation.Status.REJECTED
    assert adaptation.decided_by == personas.admin


def test_the_history_keeps_the_proposal_and_the_decision(personas, pathway):
    adaptation = propose(personas, pathway)
    site_adaptation_decide(adaptation=adaptation, approve=True, by=personas.admin)
    rows = list(adaptation.history.order_by("history_date", "history_id"))
    assert [(r.status, r.history_change_reason, r.history_user) for r in rows] == [
        ("proposed", "proposed", personas.lead),
        ("approved", "approved", personas.admin),
    ]


@pytest.mark.parametrize("first", [True, False])
def test_a_decided_adaptation_cannot_be_decided_again(personas, pathway, first):
    adaptation = propose(personas, pathway)
    site_adaptation_decide(adaptation=adaptation, approve=first, by=personas.admin)
    with pytest.raises(ValidationError, match="only a proposed one can be decided"):
        site_adaptation_decide(adaptation=adaptation, approve=not first, by=personas.admin)


def test_approval_is_refused_once_a_newer_active_version_makes_the_step_core(personas, pathway):
    adaptation = propose(personas, pathway)
    stricter = with_adaptable_step()
    stricter["steps"][3]["core"] = True
    pathway_version_activate(version=import_version(stricter))
    with pytest.raises(ValidationError, match="core steps are protected"):
        site_adaptation_decide(adaptation=adaptation, approve=True, by=personas.admin)
    adaptation.refresh_from_db()
    assert adaptation.status == SiteAdaptation.Status.PROPOSED


def test_a_proposal_for_a_now_core_step_can_still_be_rejected(personas, pathway):
    adaptation = propose(personas, pathway)
    stricter = with_adaptable_step()
    stricter["steps"][3]["core"] = True
    pathway_version_activate(version=import_version(stricter))
    site_adaptation_decide(adaptation=adaptation, approve=False, by=personas.admin)
    adaptation.refresh_from_db()
    assert adaptation.status == SiteAdaptation.Status.REJECTED
