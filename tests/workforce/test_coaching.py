"""Coaching sessions: the agenda's figures equal the source pages' for the same week; the
weekly cadence of launching and drifting sites is an integrity check; a drift response's extra
supervision shortens the supervision interval."""

import csv
import re
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
    # The counts of the queue's cells (the escalation rate is a rate: tested below).
    items = [
        item for topic in session.agenda for item in topic["items"] if "denominator" not in item
    ]
    assert items, "the week's exceptions are on the agenda"
    client = personas.client(personas.lead)
    response = client.get(f"/o/acme/exceptions/?date={DAY}&site=north&status=all")
    assert sum(item["value"] for item in items) == response.context["total"] == 3  # not South's
    for item in items:
        # It says what it counts: the queue at the week's end, not the week's new ones.
        assert item["label"].endswith(f"on the queue on {DAY:%-d %B}")
        assert item["url"].startswith(f"/o/acme/exceptions/?date={DAY}&site=north&status=all")
        linked = client.get(item["url"])
        # The queue filtered to the item's step and kind lists exactly the agenda's figure.
        assert linked.context["total"] == item["value"]


@pytest.fixture
def escalations(personas, wf, week):
    """Escalation obligations due in the week before DAY + 1 (DAY - 6 to DAY) at North: one
    raised in time, one late, one never; one due the week before; one at South in time. The
    rule: two missed contacts within a week, escalate within 24 hours."""
    from tests.pathways.exception_helpers import at, event, make_case

    with tenancy.scope(personas.org):
        version = build_version("esc")

        def missed_twice(site, ref, day, raised_after_hours=None):
            case = make_case(version, site, ref, at(day - timedelta(days=5), 9))
            event(case, "contact_missed", at(day, 9))
            event(case, "contact_missed", at(day, 10))  # the anchor: due 10:00 the next day
            if raised_after_hours is not None:
                event(case, "escalation_raised", at(day, 10) + timedelta(hours=raised_after_hours))
            return case

        missed_twice(personas.north, "E-IN-TIME", DAY - timedelta(days=3), 2)
        missed_twice(personas.north, "E-LATE", DAY - timedelta(days=4), 30)
        missed_twice(personas.north, "E-NEVER", DAY - timedelta(days=2))
        missed_twice(personas.north, "E-EARLIER", DAY - timedelta(days=12), 2)
        missed_twice(personas.south, "E-SOUTH", DAY - timedelta(days=3), 1)


def test_the_agenda_escalation_rate_equals_the_escalations_page_for_the_same_week(
    personas, wf, week, escalations
):
    session = record(personas, wf, week, DAY + timedelta(days=1))
    [rate] = [item for topic in session.agenda for item in topic["items"] if "denominator" in item]
    assert (rate["numerator"], rate["denominator"]) == (1, 3)
    assert rate["value"] == "1 of 3 (33%)"
    week_start = DAY - timedelta(days=6)
    assert rate["url"] == (f"/o/acme/exceptions/escalations/?site=north&from={week_start}&to={DAY}")
    page = personas.client(personas.lead).get(rate["url"])
    assert page.status_code == 200
    shown = page.context["rate"]
    assert (shown.raised_in_time, shown.due) == (rate["numerator"], rate["denominator"])
    text = page.content.decode()
    assert all(ref in text for ref in ("E-IN-TIME", "E-LATE", "E-NEVER"))
    assert "E-EARLIER" not in text and "E-SOUTH" not in text
    assert "raised late" in text and "not raised" in text
    assert "Repeated missed contacts" in text  # the rule in words, not its key
    # The session page shows the rate with the link to its source.
    detail = personas.client(personas.lead).get(f"/o/acme/workforce/coaching/{session.pk}/")
    assert "1 of 3 (33%)" in detail.content.decode()


def test_the_escalations_csv_lists_the_same_rows_in_words(personas, wf, week, escalations):
    week_of = {"site": "north", "from": str(DAY - timedelta(days=6)), "to": str(DAY)}
    response = personas.client(personas.lead).get(
        "/o/acme/exceptions/escalations/", {**week_of, "format": "csv"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(response.content.decode().splitlines()))
    assert rows[0] == ["Case", "Escalation rule", "Due", "Raised", "Status"]
    by_case = {row[0]: row for row in rows[1:]}
    assert set(by_case) == {"E-IN-TIME", "E-LATE", "E-NEVER"}
    assert by_case["E-NEVER"][3] == "" and by_case["E-NEVER"][4] == "not raised"
    assert by_case["E-LATE"][4] == "raised late"
    assert all(row[1] == "Repeated missed contacts" for row in rows[1:])
    commissioner = personas.client(personas.commissioner)
    assert (
        commissioner.get(
            "/o/acme/exceptions/escalations/", {**week_of, "format": "csv"}
        ).status_code
        == 403
    )


def test_the_escalations_page_fails_closed_and_names_bad_input(personas, wf, week, escalations):
    url = "/o/acme/exceptions/escalations/"
    week_of = {"site": "north", "from": str(DAY - timedelta(days=6)), "to": str(DAY)}
    assert personas.client(personas.outsider).get(url, week_of).status_code == 404
    assert personas.client(personas.commissioner).get(url, week_of).status_code == 403
    supervisor = personas.client(personas.supervisor)  # North only
    assert supervisor.get(url, week_of).status_code == 200
    south = supervisor.get(url, {**week_of, "site": "south"})
    assert south.status_code == 400 and "site" in south.context["form"].errors
    assert "E-SOUTH" not in south.content.decode()
    lead = personas.client(personas.lead)
    for bad, field in (
        ({"from": "02/03/2026"}, "start"),
        ({"from": "1999-12-01", "to": "1999-12-07"}, "start"),
        ({"from": str(DAY), "to": str(DAY - timedelta(days=1))}, "end"),
        ({"from": str(DAY - timedelta(days=40))}, "end"),
        ({"to": "2999-01-01"}, "end"),
    ):
        response = lead.get(url, {**week_of, **bad})
        assert response.status_code == 400 and field in response.context["form"].errors, bad
        assert response.context["rate"] is None


def test_the_escalations_page_queries_do_not_grow_with_cases(
    personas, wf, week, escalations, django_assert_max_num_queries
):
    from tests.pathways.exception_helpers import at, event, make_case

    url = f"/o/acme/exceptions/escalations/?site=north&from={DAY - timedelta(days=6)}&to={DAY}"
    lead = personas.client(personas.lead)
    lead.get(url)
    with django_assert_max_num_queries(20) as few:
        assert lead.get(url).context["rate"].due == 3
    with tenancy.scope(personas.org):
        from pathways.models import PathwayVersion

        esc = PathwayVersion.objects.get(pathway__slug="esc")
        for n in range(6):
            case = make_case(esc, personas.north, f"E-MORE-{n}", at(DAY - timedelta(days=8), 9))
            event(case, "contact_missed", at(DAY - timedelta(days=2), 9))
            event(case, "contact_missed", at(DAY - timedelta(days=2), 10))
    with django_assert_max_num_queries(len(few)):
        assert lead.get(url).context["rate"].due == 9


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


# --- follow-up actions: improvement actions (learning) linked to the session ----------------


def follow_up_post(client, session, **fields):
    data = {"title": "Re-train on the intake checklist", "owner": "", "deadline": ""}
    data.update(fields)
    return client.post(f"/o/acme/workforce/coaching/{session.pk}/follow-ups/", data)


def improvement_actions(personas):
    from learning.models import ImprovementAction

    with tenancy.scope(personas.org):
        return list(ImprovementAction.objects.select_related("owner").order_by("number"))


def test_a_follow_up_is_an_improvement_action_that_records_its_session(personas, wf, week):
    from learning.models import ImprovementAction

    session = record(personas, wf, week, DAY + timedelta(days=1))
    lead = personas.client(personas.lead)
    from django.utils import timezone

    today = timezone.localdate(timezone=personas.org.zone)
    response = follow_up_post(
        lead, session, owner=str(personas.supervisor.pk), deadline=str(today + timedelta(days=10))
    )
    assert response.status_code == 302
    [action] = improvement_actions(personas)
    assert action.source_model == "coachingsession" and action.source_id == session.pk
    assert action.source_kind == ImprovementAction.Source.COACHING
    assert action.site_id == personas.north.pk and action.owner_id == personas.supervisor.pk
    assert action.title == "Re-train on the intake checklist"
    page = lead.get(f"/o/acme/workforce/coaching/{session.pk}/").content.decode()
    owner_name = personas.supervisor.get_full_name() or personas.supervisor.get_username()
    assert f"{action.reference} Re-train on the intake checklist" in page
    assert owner_name in page and "Open" in page
    assert (today + timedelta(days=10)).strftime("%-d %b %Y") in page
    # The action's page links back to the session it came from.
    detail = lead.get(f"/o/acme/learning/actions/{action.number}/").content.decode()
    assert f"/o/acme/workforce/coaching/{session.pk}/" in detail


def test_a_follow_up_with_bad_input_names_the_field_and_stores_nothing(personas, wf, week):
    from django.utils import timezone

    session = record(personas, wf, week, DAY + timedelta(days=1))
    lead = personas.client(personas.lead)
    today = timezone.localdate(timezone=personas.org.zone)
    owner = str(personas.supervisor.pk)
    cases = [
        ({"title": "", "owner": owner, "deadline": str(today)}, "title"),
        ({"title": "x" * 201, "owner": owner, "deadline": str(today)}, "title"),
        ({"owner": "", "deadline": str(today)}, "owner"),
        ({"owner": str(personas.commissioner.pk), "deadline": str(today)}, "owner"),
        ({"owner": owner, "deadline": "15/11/2026"}, "deadline"),
        ({"owner": owner, "deadline": str(today - timedelta(days=1))}, "deadline"),
        ({"owner": owner, "deadline": str(today + timedelta(days=400))}, "deadline"),
    ]
    for fields, field in cases:
        response = follow_up_post(lead, session, **fields)
        assert response.status_code == 400, fields
        assert field in response.context["follow_up_form"].errors, (fields, field)
    assert improvement_actions(personas) == []


def test_follow_ups_fail_closed_for_outsiders_readers_and_unheld_sessions(personas, wf, week):
    from django.utils import timezone

    session = record(personas, wf, week, DAY + timedelta(days=1))
    today = timezone.localdate(timezone=personas.org.zone)
    fields = {"owner": str(personas.lead.pk), "deadline": str(today + timedelta(days=5))}
    assert follow_up_post(personas.client(personas.outsider), session, **fields).status_code == 404
    for reader in (personas.commissioner, personas.supervisor):
        assert follow_up_post(personas.client(reader), session, **fields).status_code == 403
    with tenancy.scope(personas.org):
        on_drift_response_opened(
            None, source_key="drift_signal:5", site=personas.north, opened_on=DAY,
            window_until=DAY + timedelta(days=30), label="Drift at North: timeliness",
        )  # fmt: skip
        scheduled = CoachingSession.objects.get(source_key="drift_signal:5")
    refused = follow_up_post(personas.client(personas.lead), scheduled, **fields)
    assert refused.status_code == 400 and "held" in str(refused.context["follow_up_form"].errors)
    assert improvement_actions(personas) == []
    # The commissioner reads the improvement log but gets no link into workforce's coaching.
    follow_up_post(personas.client(personas.lead), session, **fields)
    [action] = improvement_actions(personas)
    with tenancy.scope(personas.org):
        from learning.services import learning_record_publish

        learning_record_publish(instance=action, by=personas.lead, published=True)
    page = personas.client(personas.commissioner).get(f"/o/acme/learning/actions/{action.number}/")
    assert f"/workforce/coaching/{session.pk}/" not in page.content.decode()


def test_the_session_page_lists_its_follow_ups_in_a_fixed_number_of_queries(
    personas, wf, week, django_assert_max_num_queries
):
    from django.utils import timezone

    session = record(personas, wf, week, DAY + timedelta(days=1))
    lead = personas.client(personas.lead)
    today = timezone.localdate(timezone=personas.org.zone)
    fields = {"owner": str(personas.lead.pk), "deadline": str(today + timedelta(days=5))}
    url = f"/o/acme/workforce/coaching/{session.pk}/"
    # Measured: 9 queries with five follow-ups (session, auth, membership, the actions in one).
    for count in (1, 5):
        while len(improvement_actions(personas)) < count:
            follow_up_post(lead, session, title=f"Action {count}", **fields)
        with django_assert_max_num_queries(9):
            page = lead.get(url).content.decode()
        assert len(re.findall(r"/o/acme/learning/actions/\d+/", page)) == count
