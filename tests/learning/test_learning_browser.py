"""The learning flows in a real browser as an implementation lead would go through them: raise an
improvement action from an incident in one click and follow the link both ways, move it to
verified, spot a design signal among the deviation patterns, propose the change, pilot it,
see the pilot version its cases follow, evaluate it on the pathway's own cases (each side's
numerator and denominator) and adopt it (the pilot
version becomes the network's), then read the version's rationale and evidence on its page. Screenshots go to test-artifacts/ for a person to look at."""

from datetime import date
from pathlib import Path

import pytest

from learning.models import ChangeProposal
from learning.services import deviation_log
from scaling_ops import tenancy
from tests.factories import SiteFactory
from tests.learning.test_proposals import cases

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def pattern(personas, assured):
    """The same workaround at North, South and East this quarter."""
    east = SiteFactory(organization=personas.org, code="east", name="East")
    with tenancy.scope(personas.org):
        for site in (personas.north, personas.south, east):
            deviation_log(
                site=site,
                category="workaround",
                step="intake",
                occurred_on=date.today().replace(day=1),
                note="Phone intake when no slot was free",
            )


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"learning-{name}.png"), full_page=True)


def test_a_lead_raises_and_closes_an_action_and_adopts_a_piloted_change(
    page, log_in, live_server, personas, assured, pattern
):
    base = f"{live_server.url}/o/{personas.org.slug}"
    log_in(page, personas.lead)
    assert page.get_by_text("Improvement log").first.is_visible()

    # One click from the incident, and the link both ways.
    page.goto(f"{base}/assurance/incidents/{assured['incident'].pk}/")
    page.get_by_role("button", name="Raise improvement action").click()
    page.wait_for_load_state("networkidle")
    assert "Improvement action IA-1 raised" in page.inner_text(".messages")
    assert "IA-1" in page.inner_text("main")
    page.get_by_role("link", name="Learning").click()
    page.get_by_role("link", name="IA-1").click()
    page.wait_for_load_state("networkidle")
    page.click("#source-link")
    page.wait_for_load_state("networkidle")
    assert f"/assurance/incidents/{assured['incident'].pk}/" in page.url
    page.go_back()

    # open → in progress → done (needs closure evidence) → verified
    page.select_option("#id_status", "in_progress")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.select_option("#id_status", "done")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "closure evidence" in page.inner_text("#status-form")
    page.select_option("#id_status", "done")
    page.fill("#id_closure_evidence", "Follow-up list now prompts after two missed contacts.")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.select_option("#id_status", "verified")
    page.fill("#id_reaudit_on", "2026-12-15")
    page.click("#status-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Verified" in page.inner_text("h1")
    assert "Status → verified" in page.inner_text("main")
    shot(page, "action-verified")

    # A design signal among the quarter's patterns becomes a proposal.
    page.get_by_role("link", name="Learning").click()
    page.get_by_role("link", name="Patterns across sites").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".badge.bad", has_text="Design signal").count() == 1
    page.get_by_role("link", name="Propose a change").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#id_step_key") == "intake"
    page.select_option("#id_change_kind", "script")
    page.fill("#id_change", "Intake by phone script when no slot is free within 24 hours.")
    page.fill("#id_rationale", "Three sites already do it; it keeps intakes on time.")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "CP-1" in page.inner_text("h1")
    assert page.locator("#adopt-form").count() == 0  # no adoption without an evaluation

    page.check("#pilot-form input[value=north]")
    page.fill("#pilot-form #id_start", "2026-03-01")
    page.fill("#pilot-form #id_end", "2026-03-31")
    page.click("#pilot-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#proposal-status") == "Piloting"
    # The pilot runs on a real version: North's cases in March follow it.
    assert "follow Hospital to home v2 (in pilot)" in page.inner_text("#pilot-version")
    page.click("#pilot-version a")
    page.wait_for_load_state("networkidle")
    assert "In pilot" in page.inner_text("h1")
    assert "North" in page.inner_text("#pilots")
    shot(page, "pilot-version")
    # North's cases in February (the network version) and in March (the pilot version), South's
    # on the network version: what the evaluation reads.
    with tenancy.scope(personas.org):
        proposal = ChangeProposal.objects.get(number=1)
        cases(proposal, {personas.north: (5, 5, 8, 2), personas.south: (6, 4, 6, 4)})
    page.go_back()
    page.wait_for_load_state("networkidle")
    page.click("#evaluate-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#proposal-status") == "Evaluated"
    assert page.locator("table.evaluation tbody tr").count() == 1
    table = page.inner_text("table.evaluation")
    assert "Relative change (95% interval)" in table
    # Each side's numerator and denominator: North 5/10 before, 8/10 on the pilot version.
    assert "5 / 10" in table and "8 / 10" in table
    assert "this pathway's own cases" in page.inner_text("#pilot-cases")
    assert "Wald" in page.inner_text("#evaluation-method")
    shot(page, "proposal-evaluated")
    assert page.get_by_role("button", name="Adopt network-wide").is_visible()
    page.fill("#id_adopt-reason", "Intakes stayed on time at North; adopt for every site.")
    page.click("#adopt-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#proposal-status") == "Adopted"
    shot(page, "proposal-adopted")

    page.click("#adopted-version")
    page.wait_for_load_state("networkidle")
    assert "Active" in page.inner_text("h1")  # adopted: the pilot version, network-wide
    assert "Adopted network-wide" in page.inner_text("#pilots")
    panel = page.inner_text("#change-proposal-panel")
    assert "Intake by phone script" in panel
    assert "Three sites already do it" in panel
    assert "Pilot before" in panel
    assert "Adopted from change proposal CP-1" in page.inner_text("main")
    shot(page, "version-with-rationale")
