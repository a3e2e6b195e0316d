"""Stability under pressure and workforce evidence in a real browser (Debian Chromium driven by
Playwright): a commissioner opens the pages from the assurance navigation and sees the charts
drawn, the verdicts and the workforce aggregates, never a staff name or a case ref; a lead sets
a team's funded establishment and reads the caseload page. Screenshots go to test-artifacts/."""

from pathlib import Path

import pytest

from assurance.services.metrics import PROCESS_MEASURES
from tests.assurance.test_stability_views import STAFF, TEAM, staffed  # noqa: F401 (fixture)
from tests.browser.conftest import chromium, log_in, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_a_commissioner_reads_stability_and_workforce_evidence(
    page,  # noqa: F811
    log_in,  # noqa: F811
    live_server,
    personas,
    staffed,  # noqa: F811
):
    page.set_default_timeout(120000)  # a shared, busy machine
    log_in(page, personas.commissioner)
    page.goto(f"{live_server.url}/o/{personas.org.slug}/assurance/snapshots/")
    page.get_by_role("link", name="Stability under pressure").first.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith("Stability under pressure")
    charts = page.locator("div.chart[data-chart]")
    assert charts.count() == len(PROCESS_MEASURES)  # one per process measure
    for index in range(charts.count()):
        charts.nth(index).locator("svg.main-svg").first.wait_for(state="attached", timeout=15000)
    verdicts = page.locator("table.stability-verdicts").first.inner_text()
    assert "Timeliness compliance" in verdicts and "High-risk cases" in verdicts
    assert "Pressure" in page.locator("table.stability-months").first.inner_text()
    assert page.locator("main form[method=post]").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "stability-commissioner.png"), full_page=True)

    page.get_by_role("link", name="Workforce evidence").first.click()
    page.wait_for_load_state("networkidle")
    table = page.locator("table.workforce-evidence").inner_text()
    assert "Practitioners supervised within the interval" in table
    assert "Vacancy rate" in table and "33.3%" in table
    body = page.content()
    for secret in [*STAFF, TEAM, *staffed["refs"]]:
        assert secret not in body
    page.screenshot(path=str(ARTIFACTS / "workforce-evidence-commissioner.png"), full_page=True)


def test_a_lead_sets_the_establishment_and_reads_the_caseload(
    page,  # noqa: F811
    log_in,  # noqa: F811
    live_server,
    personas,
    staffed,  # noqa: F811
):
    page.set_default_timeout(120000)
    log_in(page, personas.lead)
    base = f"{live_server.url}/o/{personas.org.slug}"
    page.goto(f"{base}/workforce/teams/{staffed['team'].pk}/")
    page.fill("#id_fte", "4")
    page.fill("#id_effective_from", "1850-04-01")
    page.get_by_role("button", name="Set establishment").click()
    page.wait_for_load_state("networkidle")
    assert (
        "Enter a date between 1 Jan 1900 and" in page.content()
    )  # the form comes back with the message
    page.fill("#id_effective_from", "2026-04-01")
    page.fill("#id_note", "New post funded")
    page.get_by_role("button", name="Set establishment").click()
    page.wait_for_load_state("networkidle")
    assert "4.00 FTE funded from 2026-04-01" in page.locator(".messages").inner_text()
    table = page.locator("table.establishment").inner_text()
    assert "2026-04-01" in table and "New post funded" in table

    page.get_by_role("link", name="Caseload").first.click()
    page.wait_for_load_state("networkidle")
    caseload = page.locator("table.caseload").inner_text()
    assert STAFF[0] in caseload and STAFF[1] in caseload
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "caseload-lead.png"), full_page=True)
