"""The readiness and workforce pages in a real browser (Debian Chromium driven by Playwright)
as an implementation lead would use them: read the blockers, sign off an attested item, try to
go live and be refused with the failing items named, then the org admin's recorded override;
the per-site workforce page draws its plotly trend chart. Screenshots go to test-artifacts/."""

from pathlib import Path

import pytest

from scaling_ops import tenancy
from scaling_ops.models import Site
from tests.workforce.conftest import DAY, person
from workforce.models import LaunchDecision
from workforce.services import workforce_checks_compute

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def east(personas, wf):
    for name, band in [("Ann", "experienced"), ("Bo", "new"), ("Cy", "new")]:
        person(personas, wf["team"], name, band=band)
    for offset in range(3, 0, -1):
        workforce_checks_compute(organization=personas.org, date=DAY.replace(day=DAY.day - offset))
    Site.objects.filter(pk=personas.north.pk).update(status=Site.Status.LAUNCHING)
    return personas.north


def test_a_lead_works_the_readiness_checklist_and_is_refused_going_live(
    page, log_in, live_server, personas, east
):
    log_in(page, personas.lead)
    base = f"{live_server.url}/o/{personas.org.slug}"
    page.goto(f"{base}/readiness/")
    page.click(f"a[href='/o/{personas.org.slug}/readiness/north/']")
    page.wait_for_load_state("networkidle")
    rows = page.locator("tr[data-status]")
    statuses = [rows.nth(i).get_attribute("data-status") for i in range(rows.count())]
    # Blockers first.
    assert statuses == sorted(statuses, key=lambda s: {"blocker": 0, "open": 1, "pass": 2}[s])
    assert page.locator("#item-partner-key").get_attribute("data-status") == "blocker"

    page.fill("#evidence-tools-configured", "EHR feed sends events; logins issued")
    page.locator("#item-tools-configured button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "Signed off" in page.locator(".messages").inner_text()
    assert page.locator("#item-tools-configured").get_attribute("data-status") == "pass"
    assert "EHR feed sends events" in page.locator("#signoff-history").inner_text()

    page.get_by_role("button", name="Go live").click()
    page.wait_for_load_state("networkidle")
    refused = page.locator(".messages").inner_text()
    assert "Not ready to go live" in refused
    assert "An active partner key exists for the site" in refused
    assert "Partner contacts established: Not signed off yet." in refused
    # The lead is offered no override.
    assert page.locator("#id_override_reason").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workforce-readiness-refused.png"), full_page=True)
    with tenancy.scope(personas.org):
        assert Site.objects.get(pk=east.pk).status == Site.Status.LAUNCHING


def test_an_org_admin_overrides_with_a_recorded_reason(page, log_in, live_server, personas, east):
    log_in(page, personas.admin)
    page.goto(f"{live_server.url}/o/{personas.org.slug}/readiness/north/")
    page.fill("#id_override_reason", "Board agreed a supervised soft launch")
    page.get_by_role("button", name="Go live").click()
    page.wait_for_load_state("networkidle")
    assert "live by override" in page.locator(".messages").inner_text()
    assert "Board agreed a supervised soft launch" in page.locator("#signoff-history").inner_text()
    with tenancy.scope(personas.org):
        assert (
            LaunchDecision.objects.get().override_reason == "Board agreed a supervised soft launch"
        )


def test_the_site_workforce_page_draws_its_charts(page, log_in, live_server, personas, east):
    log_in(page, personas.lead)
    response = page.goto(f"{live_server.url}/o/{personas.org.slug}/workforce/sites/north/")
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    charts = page.locator("div.chart[data-chart]")
    assert charts.count() == 2
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.locator("svg.main-svg").first.wait_for(state="attached", timeout=15000)
        assert chart.bounding_box()["height"] > 100
    assert "Team below skill-mix minimum" in page.locator("#exceptions + table").inner_text()
    page.select_option("#f-role", "practitioner")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("main table").last.locator("tbody tr").count() == 3
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workforce-site.png"), full_page=True)
