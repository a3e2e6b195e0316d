"""The commissioner's contract page in a real browser (Debian Chromium driven by Playwright):
every term chart is drawn, the page offers no edit, and a screenshot goes to test-artifacts/."""

from datetime import UTC, date, datetime

import pytest

from assurance.contracts.services import contract_terms_evaluate
from scaling_ops import tenancy
from tests.assurance.contract_helpers import bands, make_contract
from tests.browser.conftest import ARTIFACTS, chromium, log_in, page  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def contract(personas, assured):
    with tenancy.scope(personas.org):
        contract, _, _ = make_contract(
            personas,
            sites=[personas.north, personas.south],
            mature_from={"north": date(2026, 1, 1)},
            breaches=1,
        )
        bands(contract)
        contract_terms_evaluate(
            organization=personas.org, month=date(2026, 3, 1), now=datetime(2026, 4, 5, tzinfo=UTC)
        )
    return contract


def test_the_commissioner_contract_page_draws_its_charts_and_offers_no_edits(
    page,  # noqa: F811 (the browser fixtures, imported above)
    log_in,  # noqa: F811
    live_server,
    personas,
    contract,
    assured,
):
    log_in(page, personas.commissioner)
    response = page.goto(f"{live_server.url}/o/{personas.org.slug}/contracts/{contract.pk}/")
    assert response.status == 200
    page.wait_for_load_state("networkidle")
    charts = page.locator("div.chart[data-chart]")
    assert charts.count() >= 1
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.locator("svg.main-svg").first.wait_for(state="attached", timeout=15000)
        assert chart.bounding_box()["height"] > 100
    assert page.locator("main form[method=post]").count() == 0
    assert page.locator("main a[href*='/manage/'], main a[href*='/edit/']").count() == 0
    body = page.content()
    assert "Payment statement" in body and "Open joint improvement processes" in body
    assert personas.south.name not in page.locator("main").inner_text()
    for ref in assured["refs"]:
        assert ref not in body
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "contract-commissioner.png"), full_page=True)
