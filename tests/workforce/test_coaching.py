"""Coaching sessions: the agenda's figures equal the source pages' for the same week; the
weekly cadence of launching and drifting sites is an integrity check; a drift response's extra
supervision shortens the supervision interval."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from scaling_ops.models import Site
from tests.pathways.exception_helpers import DAY, build_version, overdue_case
from tests.workforce.conftest import LONG_AGO, person
from workforce.coaching.models import CoachingSession
from workforce.coaching.services import (
    coaching_session_record,
    on_drift_response_opened,
)
from workforce.models import CheckKind
from workforce.services.checks import check_results


@pytest.fixture
def week(personas, wf):
    """Exceptions at North and South in the report of DAY (a Monday)."""
    with tenancy.scope(personas.org):
        version = build_version()
        for n in range(3):
            overdue_case(version, personas.north, f"N{n}")
        overdue_case(version, personas.south, "S1")
        exception_report_compute(organization=personas.org, date=DAY)
        ann = person(personas, wf["team"], "Ann Practitioner")
    return {"ann": ann}


def record(personas, wf, week, held_on, site=None, **kwargs):
    with tenancy.scope(personas.org):
        return coaching_session_record(
            site=site or personas.north, held_on=held_on, lead=personas.lead,
            attendees=kwargs.pop("attendees", [week["ann"]]), by=personas.lead,
            organization=personas.org, **kwargs,
        )  # fmt: skip


def test_the_agenda_figures_equal_the_queue_for_the_same_week(personas, wf, week):
    session = record(personas, wf, week, DAY + timedelta(days=1), notes="Walked through N0")
    items = [item for topic in session.agenda for item in topic["items"]]
    assert items, "the week's exceptions are on the agenda"
    client = personas.client(personas.lead)
    response = client.get(f"/o/acme/exceptions/?date={DAY}&site=north&status=all")
    assert sum(item["value"] for item in items) == response.context["total"] == 3  # not South's
    for item in items:
        assert item["url"].startswith(f"/o/acme/exceptions/?date={DAY}&site=north&status=all")
        linked = client.get(item["url"])
        # The queue filtered to the item's step and kind lists exactly the agenda's figure.
        assert linked.context["total"] == item["value"]


def test_a_session_needs_attendees_of_the_site_and_a_held_date(personas, wf, week):
    with pytest.raises(ValidationError) as error:
        record(personas, wf, week, DAY, attendees=[])
    assert "attendees" in error.value.message_dict
    with tenancy.scope(personas.org):
        south_person = person(personas, None, "Sol South")
        south_person.site = personas.south
        south_person.save(update_fields=["site"])
    with pytest.raises(ValidationError):
        record(personas, wf, week, DAY, attendees=[south_person])
    with pytest.raises(ValidationError) as error:
        record(personas, wf, week, DAY + timedelta(days=4000))
    assert "held_on" in error.value.message_dict
    with tenancy.scope(personas.org):
        assert CoachingSession.objects.count() == 0


def coaching_results(personas, day):
    with tenancy.scope(personas.org):
        return [r for r in check_results(day=day) if r.kind == CheckKind.COACHING]


def test_a_launching_site_owes_weekly_coaching(personas, wf, week):
    with tenancy.scope(personas.org):
        Site.objects.filter(pk=personas.north.pk).update(status=Site.Status.LAUNCHING)
    [result] = coaching_results(personas, DAY)
    assert result.failing and "No coaching session held yet" in result.detail
    record(personas, wf, week, DAY - timedelta(days=2))
    [result] = coaching_results(personas, DAY)
    assert not result.failing
    [result] = coaching_results(personas, DAY + timedelta(days=6))  # 8 days since
    assert result.failing and "8 days since the last coaching session" in result.detail


def test_a_drift_response_schedules_coaching_and_shortens_supervision(personas, wf, week):
    with tenancy.scope(personas.org):
        on_drift_response_opened(
            None, source_key="drift_signal:99", site=personas.north, opened_on=DAY,
            window_until=DAY + timedelta(days=30), label="Drift at North: timeliness",
        )  # fmt: skip
        results = check_results(day=DAY + timedelta(days=10))
    coaching = [r for r in results if r.kind == CheckKind.COACHING]
    assert {r.subject_key.split(":")[0] for r in coaching if r.failing} == {"site", "coaching"}
    ann = next(
        r for r in results
        if r.kind == CheckKind.SUPERVISION_OVERDUE and r.subject == "Ann Practitioner"
    )  # fmt: skip
    # Ann's last supervision was at her start long ago: late under any interval, and the
    # interval now is the drift response's 7 days, not the standard's 14.
    assert ann.failing and ann.threshold == 7 and "extra supervision" in ann.detail
    assert LONG_AGO < DAY


def test_coaching_pages_for_lead_and_supervisor(personas, wf, week):
    session = record(personas, wf, week, DAY + timedelta(days=1), notes="Practised intake")
    lead = personas.client(personas.lead)
    page = lead.get("/o/acme/workforce/coaching/").content.decode()
    assert "Record a session" in page and "North" in page
    detail = lead.get(f"/o/acme/workforce/coaching/{session.pk}/").content.decode()
    assert "Practised intake" in detail and "Ann Practitioner" in detail
    supervisor = personas.client(personas.supervisor)
    assert supervisor.get(f"/o/acme/workforce/coaching/{session.pk}/").status_code == 200
    assert supervisor.post("/o/acme/workforce/coaching/new/", {}).status_code == 403
    bad = lead.post("/o/acme/workforce/coaching/new/", {"site": "north", "held_on": "2030-01-01"})
    assert bad.status_code == 200 and "Tick who attended" not in bad.content.decode()
    assert "This field is required" in bad.content.decode()
    assert (
        personas.client(personas.commissioner).get("/o/acme/workforce/coaching/").status_code == 403
    )


def test_coaching_due_reminds_the_leads_once(personas, wf, week):
    from datetime import UTC, datetime

    from scaling_ops.models import Notice
    from scaling_ops.notifications import notices_generate

    with tenancy.scope(personas.org):
        on_drift_response_opened(
            None, source_key="drift_signal:7", site=personas.north, opened_on=DAY,
            window_until=DAY + timedelta(days=30), label="Drift at North: timeliness",
        )  # fmt: skip
        morning = datetime.combine(DAY + timedelta(days=5), datetime.min.time(), UTC)
        made = notices_generate(organization=personas.org, now=morning + timedelta(hours=9))
        assert notices_generate(organization=personas.org, now=morning + timedelta(hours=10)) == []
        coaching = Notice.objects.filter(kind="coaching_due")
        assert {n.user_id for n in coaching} == {personas.lead.pk, personas.admin.pk}
        assert {n.title for n in coaching} == {"Coaching at North due in 2 days"}
    assert any(n.kind == "coaching_due" for n in made)


def test_the_coaching_list_queries_do_not_grow_with_sessions(
    personas, wf, week, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = personas.client(personas.lead)
    record(personas, wf, week, DAY + timedelta(days=1))
    client.get("/o/acme/workforce/coaching/")  # warm the session
    with CaptureQueriesContext(connection) as few:
        client.get("/o/acme/workforce/coaching/")
    for days in range(2, 8):
        record(personas, wf, week, DAY + timedelta(days=days))
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get("/o/acme/workforce/coaching/")
    assert page.content.decode().count("/o/acme/workforce/coaching/") >= 7
