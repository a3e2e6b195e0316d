"""What every page of the per-role walk is held to (tests/browser/test_role_walk.py), kept apart
so the screenshots command can report the same checks."""

import re

# Internal keys a person should never have to read: obligation keys, event refs, Python
# booleans and snake_case step keys. Computation details live behind a <details> disclosure.
RAW_KEY = re.compile(r"step:[a-z]|@event:|@referral|=True|=False|\b[a-z]+(?:_[a-z0-9]+)+\b")
SERIOUS = {"serious", "critical"}
# Words that look like keys but are names: the product's own.
NAMES = {"scaling_ops"}

VISIBLE_TEXT = """() => {
  const main = document.querySelector('main');
  const clone = main.cloneNode(true);
  clone.querySelectorAll('details:not([open]), script, template, [hidden], .visually-hidden, code')
    .forEach(node => node.remove());
  return document.querySelector('header').innerText + '\\n' + clone.innerText;
}"""

READY_MS = """() => {
  const [nav] = performance.getEntriesByType('navigation');
  return nav ? Math.round(nav.loadEventEnd - nav.startTime) : null;
}"""


def raw_keys(page) -> list[str]:
    return sorted(set(RAW_KEY.findall(page.evaluate(VISIBLE_TEXT))) - NAMES)


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

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


def ready_ms(page) -> int | None:
    return page.evaluate(READY_MS)
