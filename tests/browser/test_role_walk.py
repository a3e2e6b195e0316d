"""Each role walks every page its menu links to, in Chromium at 1366 px: no internal key in the
visible text, no serious or critical axe-core violation, the menu in one row with the page's
section (and only it) marked current. How long each page took to be ready is printed (-s), not
asserted: a wall-clock bound would fail on a busy machine, not on a slow page."""

import pytest

from scaling_ops.browser_walk import (
    current_sections,
    menu_links,
    raw_keys,
    ready_ms,
    serious_violations,
)
from tests.assurance.conftest import assured  # noqa: F401 (a fixture used here)


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


@pytest.mark.parametrize("persona", ["admin", "lead", "supervisor", "commissioner"])
def test_every_menu_page_reads_in_words_passes_axe_and_marks_its_section(
    chromium, live_server, personas, log_in, walk_data, persona
):
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        log_in(page, getattr(personas, persona))
        links = menu_links(page)
        assert links and links[0][0] == "Home"
        problems, timings = [], []
        for label, href in links:
            response = page.goto(f"{live_server.url}{href}")
            page.wait_for_load_state("networkidle")
            timings.append((label, ready_ms(page)))
            if response.status != 200:
                problems.append(f"{label}: HTTP {response.status}")
                continue
            if current_sections(page) != [label]:
                problems.append(f"{label}: menu marks {current_sections(page)} as current")
            keys = raw_keys(page)
            if keys:
                problems.append(f"{label}: internal keys in the text: {keys[:8]}")
            problems += [f"{label}: {v}" for v in serious_violations(page)]
            # The menu fits one row at 1366 px: every link on the first link's line.
            tops = page.eval_on_selector_all(
                "header nav[aria-label=Main] a", "links => links.map(a => a.offsetTop)"
            )
            if len(set(tops)) != 1:
                problems.append(f"{label}: the menu wraps onto {len(set(tops))} rows")
        print(f"\n{persona} ready in ms:", timings)
        assert not problems, "\n".join(problems)
    finally:
        context.close()
