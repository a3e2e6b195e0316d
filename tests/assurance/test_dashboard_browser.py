"""The commissioner's dashboards in a real browser (Debian Chromium driven by Playwright) against
pytest-django's live server: every plotly chart is drawn (an ``svg.main-svg`` inside each chart
div), nothing offers an edit, and screenshots go to test-artifacts/ for a person to look at.

Skips, with the reason printed, when Chromium or Playwright is missing. Never downloads a browser."""

import re
import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import chromium  # noqa: F401 (the shared browser)

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-pass-2026"
PAGES = [
    ("overview", "/assurance/?month=2026-03"),
    ("run-charts", "/assurance/run-charts/?month=2026-03&measure=timeliness"),
    ("equity", "/assurance/equity/?month=2026-03"),
    ("drift", "/assurance/drift/"),
    ("outcomes", "/assurance/outcomes/?month=2026-03"),
    ("pack", "/assurance/pack/?month=2026-03"),
]


@pytest.fixture
def browser(chromium):  # noqa: F811 (the fixture imported above)
    """The run's one shared browser (tests/browser/conftest.py)."""
    return chromium


@pytest.fixture
def commissioner_page(browser, live_server, personas, assured):
    personas.commissioner.set_password(PASSWORD)
    personas.commissioner.save()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", personas.commissioner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    yield page
    context.close()


@pytest.mark.parametrize("name, path", PAGES, ids=[name for name, _ in PAGES])
def test_commissioner_dashboards_draw_their_charts_and_offer_no_edits(
    commissioner_page, live_server, personas, assured, name, path
):
    page = commissioner_page
    response = page.goto(f"{live_server.url}/o/{personas.org.slug}{path}")
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    charts = page.locator("div.chart[data-chart]")
    assert charts.count() >= 1, f"{name} shows no chart"
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.locator("svg.main-svg").first.wait_for(state="attached", timeout=15000)
        assert chart.locator("svg.main-svg").count() >= 1
        assert chart.bounding_box()["height"] > 100, f"{name} chart {index} is blank"
    # Filters and month pickers are GET forms; nothing may post, save or recompute.
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main textarea").count() == 0
    edits = page.locator("main button").filter(
        has_text=re.compile("Save|Record|Recompute|Compute|Draw|Import|Raise")
    )
    assert edits.count() == 0
    body = page.content()
    for ref in assured["refs"]:
        assert ref not in body
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"assurance-commissioner-{name}.png"), full_page=True)
