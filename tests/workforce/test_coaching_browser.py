"""The inbox and coaching in a real browser (Debian Chromium driven by Playwright): a
supervisor sees the unread count in the header, opens the daily digest, marks the rest read; a
lead records a coaching session, reads its agenda and follows an agenda figure to the queue."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from learning.services.actions import improvement_action_create
from pathways.services.exceptions import exception_report_compute
from scaling_ops import notifications, tenancy
from tests.pathways.exception_helpers import DAY, build_version, overdue_case
from tests.workforce.conftest import person

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MORNING = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=8)


@pytest.fixture
def north_week(personas, wf):
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "N1")
        overdue_case(version, personas.north, "N2")
        overdue_case(version, personas.south, "S1")
        exception_report_compute(organization=personas.org, date=DAY)
        improvement_action_create(
            title="Re-train North on intake", owner=personas.supervisor,
            deadline=DAY + timedelta(days=2), site=personas.north, by=personas.lead,
        )  # fmt: skip
        notifications.notices_generate(organization=personas.org, now=MORNING)
        ann = person(personas, wf["team"], "Ann Practitioner")
    return {"ann": ann}


def test_a_supervisor_reads_the_digest_in_the_inbox(
    page, log_in, live_server, personas, north_week
):
    log_in(page, personas.supervisor)
    badge = page.locator("a.notices-link .badge")
    badge.wait_for()
    assert badge.inner_text() == "2"
    page.click("a.notices-link")
    page.wait_for_load_state("networkidle")
    assert "2 unread" in page.locator(".subtitle").inner_text()
    page.get_by_role("link", name="Your daily digest for").click()
    page.wait_for_load_state("networkidle")
    # The digest opens in the inbox (it has no page of its own): North only, no case refs.
    body = page.locator("main").inner_text()
    assert "Exceptions at North" in body and "South" not in body and "N1" not in body
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notices-digest.png"), full_page=True)
    page.locator("a.notices-link .badge").wait_for()
    assert page.locator("a.notices-link .badge").inner_text() == "1"
    page.click("a.notices-link")
    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_load_state("networkidle")
    assert "1 notice marked read." in page.locator(".messages").inner_text()
    assert page.locator("a.notices-link .badge").count() == 0


def test_a_lead_records_a_coaching_session_and_follows_its_agenda(
    page, log_in, live_server, personas, north_week
):
    log_in(page, personas.lead)
    base = f"{live_server.url}/o/{personas.org.slug}"
    page.goto(f"{base}/workforce/coaching/")
    page.get_by_role("link", name="Record a session").click()
    page.wait_for_load_state("networkidle")
    page.select_option("#id_site", "north")
    page.fill("#id_held_on", (DAY + timedelta(days=1)).isoformat())
    page.get_by_label("Ann Practitioner (").check()
    page.fill("#id_notes", "Walked through the two overdue intakes.")
    page.get_by_role("button", name="Record session").click()
    page.wait_for_load_state("networkidle")
    assert "Coaching session at" in page.locator(".messages").inner_text()
    main = page.locator("main").inner_text()
    assert "Ann Practitioner" in main and "Walked through the two overdue intakes." in main
    figure = page.locator("table.agenda tr").first
    assert figure.locator("td.num").inner_text() == "2"
    # The escalation rate, with its numerator and denominator (none due that week).
    rate = page.locator("table.agenda tr", has_text="Escalation rate")
    assert rate.locator("td.num").inner_text() == "none due"
    # A follow-up becomes an improvement action listed on the session.
    session_url = page.url
    page.fill("#id_title", "Re-run intake huddle at North")
    page.select_option("#id_owner", str(personas.supervisor.pk))
    page.fill("#id_deadline", (date.today() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Raise follow-up action").click()
    page.wait_for_load_state("networkidle")
    assert "raised in the improvement log" in page.locator(".messages").inner_text()
    follow_ups = page.locator("#follow-ups").inner_text()
    assert "Re-run intake huddle at North" in follow_ups and "Open" in follow_ups
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "coaching-session.png"), full_page=True)
    rate.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert "/exceptions/escalations/" in page.url
    assert "0 of 0 escalations due" in page.locator("#escalation-rate").inner_text()
    page.goto(session_url)
    figure = page.locator("table.agenda tr").first
    figure.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert "/exceptions/" in page.url and "site=north" in page.url
