"""Each role walks every page its menu links to, in Chromium at 1366 px: no internal key in the
visible text, no serious or critical axe-core violation, the menu in one row with the page's
section (and only it) marked current, and what makes a page fast, as behaviour: plotly is
requested only by a page that draws a chart, no page asks for more than MAX_REQUESTS files or
sends more than MAX_HTML_KB of HTML. How long each page took is printed (-s), never asserted:
a wall-clock bound fails on a busy machine, not on a slow page; bench/page_ready.py measures it
against the 1 s goal.

One test walks the four roles over one set of data (a test per role rebuilt and flushed the
data four times: most of the walk's time)."""

import pytest

from scaling_ops.browser_walk import (
    current_sections,
    menu_links,
    menu_rows,
    raw_keys,
    serious_violations,
    visit,
)
from tests.assurance.conftest import assured  # noqa: F401 (a fixture used here)

ROLES = ("admin", "lead", "supervisor", "commissioner")
# The shell's own files (a stylesheet or two, htmx, copy.js) and a page's chart scripts, with
# room to spare; a page that needs more is asking for a bundle, not more files.
MAX_REQUESTS = 10
MAX_HTML_KB = 300


@pytest.fixture
def walk_data(personas, assured):  # noqa: F811 (the imported fixture)
    """March 2026 computed for North and South (assurance's fixture) with a contract."""
    from datetime import date

    from assurance.contracts.services import contract_terms_evaluate
    from scaling_ops import tenancy
    from tests.assurance.contract_helpers import make_contract
    from tests.assurance.helpers import APRIL_5

    with tenancy.scope(personas.org):
        make_contract(personas, reference="riverside-2026", sites=[personas.north])
        contract_terms_evaluate(organization=personas.org, month=date(2026, 3, 1), now=APRIL_5)


def page_problems(page, seen, label) -> list[str]:
    if seen.status != 200:
        return [f"{label}: HTTP {seen.status}"]
    problems = []
    if current_sections(page) != [label]:
        problems.append(f"{label}: menu marks {current_sections(page)} as current")
    keys = raw_keys(page)
    if keys:
        problems.append(f"{label}: internal keys in the text: {keys[:8]}")
    problems += [f"{label}: {v}" for v in serious_violations(page)]
    if menu_rows(page) != 1:
        problems.append(f"{label}: the menu wraps onto {menu_rows(page)} rows")
    charts = page.locator(".chart[data-chart]").count()
    if seen.loads("plotly") != bool(charts):
        problems.append(f"{label}: plotly requested: {seen.loads('plotly')}, charts: {charts}")
    if len(seen.resources) > MAX_REQUESTS:
        names = [r["url"].rsplit("/", 1)[-1] for r in seen.resources]
        problems.append(f"{label}: {len(names)} files requested: {names}")
    if seen.html_bytes > MAX_HTML_KB * 1024:
        problems.append(f"{label}: {seen.html_bytes // 1024} KB of HTML")
    return problems


def test_every_role_reads_every_menu_page_in_words_accessible_and_light(
    chromium, live_server, personas, log_in, walk_data
):
    problems, timings, chart_pages = [], {}, 0
    for role in ROLES:
        context = chromium.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        try:
            log_in(page, getattr(personas, role))
            links = menu_links(page)
            assert links and links[0][0] == "Home", role
            for label, href in links:
                seen = visit(page, live_server.url, label, href)
                timings.setdefault(role, []).append((label, seen.dom_ms, seen.load_ms))
                chart_pages += seen.loads("plotly")
                problems += [f"{role} {p}" for p in page_problems(page, seen, label)]
        finally:
            context.close()
    print("\nready in ms (DOM, load):", timings)
    # The plotly check saw both kinds of page: some menu pages draw charts, most do not.
    assert chart_pages
    assert not problems, "\n".join(problems)
