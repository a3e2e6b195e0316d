"""The supervisor's daily journey in a real browser: log in, filter the exception queue, assign an
exception and resolve it in place (htmx swaps the row; the page never reloads); outsiders and
commissioners are refused the queue. Screenshots of a failure go to test-artifacts/."""

from datetime import timedelta

import pytest

from pathways.assignees import user_key
from pathways.models import ExceptionItem
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    make_case,
    overdue_case,
)

QUEUE = "/o/acme/exceptions/"


@pytest.fixture
def report(personas):
    """North: C-1 and C-2 overdue at intake, C-3 done late; South (not sam's): S-1 overdue."""
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "C-1")
        overdue_case(version, personas.north, "C-2")
        late = make_case(version, personas.north, "C-3", at(DAY - timedelta(days=2), 8))
        complete(late, "intake", at(DAY, 12))
        overdue_case(version, personas.south, "S-1")
        return exception_report_compute(organization=personas.org, date=DAY)


def refs_shown(page) -> set[str]:
    return set(page.locator("table.queue tr[id^=exception-] td:nth-child(2) a").all_inner_texts())


def test_a_supervisor_filters_assigns_and_resolves_in_place(
    page, live_server, personas, log_in, report
):
    log_in(page, personas.supervisor)
    page.goto(f"{live_server.url}{QUEUE}")
    assert page.locator("h1").inner_text() == "Exception queue"
    assert refs_shown(page) == {"C-1", "C-2", "C-3"}  # South's S-1 is not sam's site

    page.select_option("#id_kind", "overdue_step")
    page.click("form[aria-label=Filters] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "kind=overdue_step" in page.url
    assert refs_shown(page) == {"C-1", "C-2"}

    with tenancy.scope(personas.org):
        item = ExceptionItem.objects.get(case__external_ref="C-1")
    row = page.locator(f"#exception-{item.pk}")
    filtered_url = page.url
    page.evaluate("window.journeyMarker = 'still the same page'")

    # The row's actions come when its menu opens (one picker per page, not one per row).
    row.locator("summary", has_text="Actions").click()
    row.locator(f"#assignee-{item.pk}").select_option(user_key(personas.supervisor))
    row.locator("button", has_text="Assign").click()
    page.locator(f"#exception-{item.pk} .badge.assigned").wait_for()
    row = page.locator(f"#exception-{item.pk}")
    assert "→ sam" in row.inner_text()

    row.locator("summary", has_text="Actions").click()
    row.locator(f"#note-{item.pk}").fill("Intake visit booked for tomorrow morning.")
    row.locator("button", has_text="Resolve").click()
    page.locator(f"#exception-{item.pk} .badge.resolved").wait_for()
    row = page.locator(f"#exception-{item.pk}")
    row.locator("summary", has_text="Actions").click()
    row.locator(".note").wait_for()
    assert "Intake visit booked for tomorrow morning." in row.inner_text()
    assert row.locator("button", has_text="Resolve").count() == 0  # closed: no more triage

    # In place: the same document throughout, the filter kept, the other row untouched.
    assert page.evaluate("window.journeyMarker") == "still the same page"
    assert page.url == filtered_url
    assert refs_shown(page) == {"C-1", "C-2"}
    with tenancy.scope(personas.org):
        item.refresh_from_db()
        assert (item.status, item.assignee_key, item.note) == (
            "resolved",
            user_key(personas.supervisor),
            "Intake visit booked for tomorrow morning.",
        )
        assert ExceptionItem.objects.get(case__external_ref="C-2").status == "open"

    # A reload shows what was saved: resolved items leave the default "needs action" view.
    page.reload()
    assert refs_shown(page) == {"C-2"}


def test_an_outsider_is_refused_the_queue_and_its_actions(
    page, live_server, personas, log_in, report
):
    log_in(page, personas.outsider)
    assert page.goto(f"{live_server.url}{QUEUE}").status == 404
    with tenancy.scope(personas.org):
        item = ExceptionItem.objects.get(case__external_ref="C-1")
    assert page.goto(f"{live_server.url}{QUEUE}{item.pk}/").status == 404
    assert "C-1" not in page.content()


def test_a_commissioner_is_refused_the_queue(page, live_server, personas, log_in, report):
    log_in(page, personas.commissioner)
    response = page.goto(f"{live_server.url}{QUEUE}")
    assert response.status == 403
    assert "C-1" not in page.content()


@pytest.fixture
def busy_report(personas):
    """60 overdue intakes at North, 5 at South: more than a page."""
    with tenancy.scope(personas.org):
        version = build_version()
        for number in range(60):
            overdue_case(version, personas.north, f"N-{number:02d}")
        for number in range(5):
            overdue_case(version, personas.south, f"S-{number:02d}")
        return exception_report_compute(organization=personas.org, date=DAY)


def test_the_huddle_page_fits_fifty_rows_in_about_two_screens(
    page, live_server, personas, log_in, busy_report
):
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, personas.lead)
    page.goto(f"{live_server.url}{QUEUE}")
    assert page.locator("table.queue tr[id^=exception-]").count() == 50
    # The 50 rows in under two screens of 768 px; the whole page (menu, filters, summary, bulk
    # actions, rows, pages) in about two and a half.
    rows = page.evaluate("document.querySelector('table.queue').getBoundingClientRect().height")
    assert rows <= 2 * 768, rows
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= 2.6 * 768, height
    assert "65 exceptions need action in your sites: 65 on this report" in " ".join(
        page.locator("#open-counts").inner_text().split()
    )
    # A summary cell lists its exceptions, and the choice is remembered on the next visit.
    page.locator("#huddle-summary a", has_text="5").first.click()
    page.wait_for_load_state("networkidle")
    assert "site=south" in page.url
    assert len(refs_shown(page)) == 5
    page.goto(f"{live_server.url}{QUEUE}")
    assert len(refs_shown(page)) == 5
    assert page.locator("#remembered-filters").is_visible()
    page.locator("#remembered-filters a").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("table.queue tr[id^=exception-]").count() == 50
    # Keyset pages: next, then last.
    page.locator("nav.pagination a", has_text="Next").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("table.queue tr[id^=exception-]").count() == 15
