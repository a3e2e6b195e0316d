"""Browser journeys: Debian Chromium driven by Playwright, against pytest-django's live server.

Skips, with the reason printed, when Chromium or Playwright is missing (``.ci/run`` installs
Chromium). Never downloads a browser. A failing test leaves a screenshot in test-artifacts/."""

import atexit
import os
from pathlib import Path

import pytest

from scaling_ops import browser_walk

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# One browser for the whole run: other test folders import this fixture into their conftests,
# which makes each a separate session fixture, and a second sync_playwright() would refuse to
# start inside the first one's event loop.
_running: dict = {}


def _stop_browser() -> None:
    browser, playwright = _running.pop("browser", None), _running.pop("playwright", None)
    if browser is not None:
        browser.close()
    if playwright is not None:
        playwright.stop()


@pytest.fixture(scope="session")
def chromium():
    if "browser" not in _running:
        try:
            _running["playwright"], _running["browser"] = browser_walk.start_chromium()
        except browser_walk.BrowserMissing as missing:
            pytest.skip(str(missing))
        # Playwright's sync API runs an event loop in this thread; Django's async-safety check
        # would otherwise refuse the ORM calls the tests make between page actions.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        atexit.register(_stop_browser)
    return _running["browser"]


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    failed = getattr(request.node, "report_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


PASSWORD = "browser-pass-2026"


@pytest.fixture
def log_in(live_server, personas):
    """Returns a function that logs a persona in through the real login form."""
    for user in (
        personas.admin,
        personas.lead,
        personas.supervisor,
        personas.commissioner,
        personas.outsider,
    ):
        user.set_password(PASSWORD)
        user.save()

    def log_in_as(page, user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    return log_in_as
