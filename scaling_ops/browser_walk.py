"""What every page of every role is held to in the browser, in one place for the per-role walk
(tests/browser/test_role_walk.py), `manage.py screenshots` and the page bench
(bench/page_ready.py): internal keys in the visible text, serious axe-core violations, the
highlighted menu section, and how long a page took and what it loaded.

Playwright (and axe-playwright-python) are imported only when a browser is started, with a
clear error when missing: the web app never needs them."""

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# Internal keys a person should never have to read: obligation keys, event refs, Python
# booleans and snake_case step keys. Computation details live behind a <details> disclosure.
RAW_KEY = re.compile(r"step:[a-z]|@event:|@referral|=True|=False|\b[a-z]+(?:_[a-z0-9]+)+\b")
SERIOUS = {"serious", "critical"}
# Words that look like keys but are names: the product's own.
NAMES = {"scaling_ops"}

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

VISIBLE_TEXT = """() => {
  const main = document.querySelector('main');
  const clone = main.cloneNode(true);
  clone.querySelectorAll('details:not([open]), script, template, [hidden], .visually-hidden, code')
    .forEach(node => node.remove());
  return document.querySelector('header').innerText + '\\n' + clone.innerText;
}"""

# Navigation Timing level 2: times from the start of the navigation, and what the page loaded
# (same-origin resources report their sizes).
TIMING = """() => {
  const [nav] = performance.getEntriesByType('navigation');
  if (!nav) return null;
  return {
    dom_ms: Math.round(nav.domContentLoadedEventEnd - nav.startTime),
    load_ms: Math.round(nav.loadEventEnd - nav.startTime),
    html_bytes: nav.decodedBodySize,
    html_transfer: nav.transferSize,
    resources: performance.getEntriesByType('resource').map(r => ({
      url: r.name, kind: r.initiatorType, transfer: r.transferSize, size: r.decodedBodySize,
      encoded: r.encodedBodySize,
    })),
  };
}"""


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed; the message says how to install it."""


def chromium_path() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


def start_chromium():
    """(playwright, browser): Debian's Chromium driven by Playwright; never downloads one."""
    path = chromium_path()
    if not Path(path).exists():
        raise BrowserMissing("Chromium is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise BrowserMissing("Playwright for Python is missing: pip install playwright") from error
    playwright = sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


def log_in(page, base_url: str, username: str, password: str) -> bool:
    """Logs in through the real form; False when the login page is shown again."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return "/accounts/login/" not in page.url


def raw_keys(page) -> list[str]:
    return keys_in(page.evaluate(VISIBLE_TEXT))


def keys_in(text: str) -> list[str]:
    return sorted(set(RAW_KEY.findall(text)) - NAMES)


def serious_violations(page) -> list[str]:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError as error:
        raise BrowserMissing("axe-playwright-python is missing: pip install -e '.[dev]'") from error

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(n['target'][0] for n in v['nodes'][:3])}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]


def menu_links(page) -> list[tuple[str, str]]:
    return [
        (a.inner_text().strip(), a.get_attribute("href"))
        for a in page.locator("header nav[aria-label=Main] a").all()
    ]


def current_sections(page) -> list[str]:
    return [
        a.inner_text().strip()
        for a in page.locator('header nav[aria-label=Main] a[aria-current="page"]').all()
    ]


def menu_rows(page) -> int:
    tops = page.eval_on_selector_all(
        "header nav[aria-label=Main] a", "links => links.map(a => a.offsetTop)"
    )
    return len(set(tops))


def ready_ms(page) -> int | None:
    timing = page.evaluate(TIMING)
    return timing["load_ms"] if timing else None


@dataclass
class Visit:
    """One page as the browser loaded it."""

    label: str
    url: str
    status: int | None
    dom_ms: int | None = None
    load_ms: int | None = None
    html_bytes: int = 0
    resources: list[dict] = field(default_factory=list)
    # Response headers of static files, by URL (compression and caching).
    static_headers: dict[str, dict] = field(default_factory=dict)

    def loads(self, fragment: str) -> bool:
        return any(fragment in r["url"] for r in self.resources)


def visit(page, base_url: str, label: str, href: str) -> Visit:
    """Opens a page, waits until the network is idle and reads its Navigation Timing."""
    static_headers: dict[str, dict] = {}

    def remember(response):
        if "/static/" in response.url:
            static_headers[response.url] = response.headers

    page.on("response", remember)
    try:
        response = page.goto(base_url + href if href.startswith("/") else href)
        page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("response", remember)
    timing = page.evaluate(TIMING) or {}
    return Visit(
        label=label,
        url=page.url,
        status=response.status if response else None,
        dom_ms=timing.get("dom_ms"),
        load_ms=timing.get("load_ms"),
        html_bytes=timing.get("html_bytes") or 0,
        resources=timing.get("resources") or [],
        static_headers=static_headers,
    )
