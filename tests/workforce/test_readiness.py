"""Launch readiness: automatic items evaluated live, attested sign-offs, the go-live gate refused
with the failing items named, and an org admin's override recorded."""

import pytest
from django.core.exceptions import ValidationError

from pathways.models import SiteAdaptation
from scaling_ops.models import Site
from scaling_ops.services import partner_key_create, site_change_status
from tests.pathways.exception_helpers import build_version
from tests.workforce.conftest import person
from workforce.models import ChecklistTemplate, LaunchDecision
from workforce.services import (
    checklist_template_activate,
    checklist_template_ensure,
    checklist_template_new_version,
    readiness_attest,
    readiness_evaluate,
    readiness_withdraw,
    site_go_live,
    training_completion_record,
)


@pytest.fixture
def launching(personas, wf):
    site = personas.north
    Site.objects.filter(pk=site.pk).update(status=Site.Status.LAUNCHING)
    site.refresh_from_db()
    return site


def make_ready(personas, wf, site):
    from datetime import date

    build_version()
    pat = person(personas, wf["team"], "Pat")
    for module in wf["modules"]:
        training_completion_record(staff=pat, module=module, completed_on=date(2026, 3, 1),
                                   by=personas.lead)  # fmt: skip
    partner_key_create(name="North EHR", sites=[site])
    for key in ("partner-contacts", "tools-configured"):
        readiness_attest(site=site, item_key=key, evidence="Done with the team", by=personas.lead)


def blockers(site):
    return {status.item.key: status.detail for status in readiness_evaluate(site=site).blockers}


def test_a_new_site_shows_every_unmet_item_as_a_blocker(personas, wf, launching):
    found = blockers(launching)
    assert set(found) == {
        "core-training",
        "partner-key",
        "pathway-active",
        "partner-contacts",
        "tools-configured",
    }
    assert found["core-training"] == "No practitioners are on the site's staff list yet."


def test_the_gate_refuses_going_live_and_names_the_failing_items(personas, wf, launching):
    with pytest.raises(ValidationError) as refused:
        site_change_status(site=launching, status=Site.Status.LIVE)
    text = " ".join(refused.value.messages)
    assert "An active partner key exists for the site" in text
    assert "Partner contacts established: Not signed off yet." in text
    launching.refresh_from_db()
    assert launching.status == Site.Status.LAUNCHING


def test_go_live_from_the_readiness_page_is_refused_with_the_items_named(personas, wf, launching):
    with pytest.raises(ValidationError) as refused:
        site_go_live(site=launching, by=personas.lead, role="implementation_lead")
    assert "Tools configured: Not signed off yet." in refused.value.messages
    assert LaunchDecision.objects.count() == 0


def test_a_ready_site_goes_live_and_the_decision_is_recorded(personas, wf, launching):
    make_ready(personas, wf, launching)
    assert blockers(launching) == {}
    decision = site_go_live(site=launching, by=personas.lead, role="implementation_lead")
    launching.refresh_from_db()
    assert launching.status == Site.Status.LIVE
    assert (decision.failing_items, decision.override_reason) == ([], "")


def test_only_an_org_admin_may_override_and_the_override_is_recorded(personas, wf, launching):
    with pytest.raises(ValidationError, match="Only an org admin"):
        site_go_live(site=launching, by=personas.lead, role="implementation_lead",
                     override_reason="Commissioner asked")  # fmt: skip
    decision = site_go_live(site=launching, by=personas.admin, role="org_admin",
                            override_reason="Winter pressure: go live with a recovery plan")  # fmt: skip
    launching.refresh_from_db()
    assert launching.status == Site.Status.LIVE
    assert decision.by == personas.admin
    assert decision.override_reason == "Winter pressure: go live with a recovery plan"
    assert any(line.startswith("Tools configured") for line in decision.failing_items)
    latest = launching.history.first()
    assert latest.history_change_reason == "Winter pressure: go live with a recovery plan"


def test_resuming_a_paused_site_is_not_a_launch(personas, wf):
    Site.objects.filter(pk=personas.south.pk).update(status=Site.Status.PAUSED)
    personas.south.refresh_from_db()
    site_change_status(site=personas.south, status=Site.Status.LIVE)
    assert personas.south.status == Site.Status.LIVE


def test_automatic_items_follow_the_data_live(personas, wf, launching):
    make_ready(personas, wf, launching)
    SiteAdaptation.objects.create(
        site=launching, pathway=build_version("other").pathway, step_key="follow_up",
        what="Phone first", why="Rural",
    )  # fmt: skip
    wf["team"].supervisor = None
    wf["team"].save()
    found = blockers(launching)
    assert found["adaptations-approved"] == "Waiting for a decision: follow_up."
    assert found["supervisors-named"] == "No supervisor named for Blue."


def test_a_sign_off_needs_evidence_and_a_withdrawn_one_no_longer_counts(personas, wf, launching):
    with pytest.raises(ValidationError, match="Describe the evidence"):
        readiness_attest(
            site=launching, item_key="tools-configured", evidence=" ", by=personas.lead
        )
    with pytest.raises(ValidationError, match="Only attested items"):
        readiness_attest(site=launching, item_key="partner-key", evidence="x", by=personas.lead)
    row = readiness_attest(site=launching, item_key="tools-configured", evidence="EHR feed live",
                           by=personas.lead)  # fmt: skip
    assert "tools-configured" not in blockers(launching)
    readiness_withdraw(attestation=row, by=personas.admin)
    assert blockers(launching)["tools-configured"] == "Not signed off yet."
    assert row.history.count() == 2


def test_checklist_versions_copy_items_and_activation_retires_the_old(personas, wf, launching):
    first = checklist_template_ensure(by=personas.lead)
    second = checklist_template_new_version(
        base=first, by=personas.lead, note="Add a data-protection sign-off",
        add_items=[{"key": "dpia", "title": "Data protection impact assessment signed"}],
        optional_keys=["adaptations-approved"],
    )  # fmt: skip
    assert second.version == 2 and second.status == ChecklistTemplate.Status.DRAFT
    checklist_template_activate(template=second, by=personas.admin)
    first.refresh_from_db()
    assert first.status == ChecklistTemplate.Status.RETIRED
    readiness = readiness_evaluate(site=launching)
    assert readiness.template == second
    assert "dpia" in {s.item.key for s in readiness.blockers}
    optional = next(s for s in readiness.items if s.item.key == "adaptations-approved")
    assert optional.item.required is False


def test_a_launch_decision_is_evidence_and_cannot_be_changed(personas, wf, launching):
    decision = site_go_live(site=launching, by=personas.admin, role="org_admin",
                            override_reason="Agreed")  # fmt: skip
    decision.override_reason = "Something else"
    with pytest.raises(ValidationError, match="cannot be changed"):
        decision.save()


def test_each_blocker_links_to_the_page_that_fixes_it_and_go_live_says_what_fails(
    personas, wf, launching
):
    page = personas.client(personas.admin).get(f"/o/acme/readiness/{launching.code}/")
    links = {s.item.key: s.fix_url for s in page.context["readiness"].blockers}
    assert links["core-training"] == f"/o/acme/workforce/sites/{launching.code}/"
    assert links["partner-key"] == "/o/acme/keys/"
    assert links["pathway-active"] == "/o/acme/pathways/"
    assert links["tools-configured"] == "#item-tools-configured"
    body = page.content.decode()
    assert '<a href="/o/acme/keys/">Issue a partner key</a>' in body
    assert "Still failing: " in body and "Tools configured" in body.split("Still failing: ")[1]
    assert "Go live with 5 items failing (override)" in body
    # A lead cannot issue keys: the blocker says who can instead of linking to a refusal.
    lead = personas.client(personas.lead).get(f"/o/acme/readiness/{launching.code}/")
    assert "An org admin issues partner keys" in lead.content.decode()
    assert "Go live (refused: 5 items still failing)" in lead.content.decode()
