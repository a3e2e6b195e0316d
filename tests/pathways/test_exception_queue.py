"""The supervisor exception queue: scope, grouping, filters, pagination, CSV, htmx triage, bulk
actions, Recompute and a query count that does not grow with rows."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pathways.assignees import user_key
from pathways.models import Case, ExceptionItem
from pathways.services.exception_triage import exception_item_resolve
from pathways.services.exceptions import exception_report_compute
from scaling_ops import services, tenancy
from tests.factories import SiteFactory
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    event,
    make_case,
    overdue_case,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def version(tenant):
    return build_version()


def compute(personas, day=DAY):
    with tenancy.scope(personas.org):
        return exception_report_compute(organization=personas.org, date=day)


@pytest.fixture
def queue(personas, version):
    """North: an overdue intake (C-N1), a late intake (C-N2), a missed escalation and an
    overdue follow-up (C-N3, high risk); South: an overdue intake (C-S1)."""
    overdue_case(version, personas.north, "C-N1")
    late = make_case(version, personas.north, "C-N2", at(DAY - timedelta(days=2), 8))
    complete(late, "intake", at(DAY, 12))
    high = make_case(version, personas.north, "C-N3", at(DAY - timedelta(days=1), 8), "high")
    complete(high, "intake", at(DAY - timedelta(days=1), 9))
    event(high, "contact_missed", at(DAY - timedelta(days=1), 10))
    event(high, "contact_missed", at(DAY - timedelta(days=1), 11))
    overdue_case(version, personas.south, "C-S1")
    return compute(personas)


def url(personas, name="exception_queue", **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def item(ref, step="intake"):
    return ExceptionItem.objects.get(case__external_ref=ref, step=step)


def refs(response) -> list[str]:
    return [line.item.case.external_ref for line in response.context["rows"]]


def test_supervisor_sees_only_the_items_of_their_sites(personas, queue):
    response = personas.client(personas.supervisor).get(url(personas))
    assert response.status_code == 200
    assert "C-S1" not in refs(response)
    assert set(refs(response)) == {"C-N1", "C-N2", "C-N3"}


def test_commissioner_cannot_even_read_the_queue(personas, queue):
    response = personas.client(personas.commissioner).get(url(personas))
    assert response.status_code == 403


def test_lines_are_grouped_by_site_then_step_then_kind(personas, queue):
    response = personas.client(personas.admin).get(url(personas))
    order = [(line.site_id, line.item.step, line.kind) for line in response.context["rows"]]
    assert order == sorted(order)
    assert response.context["rows"][0].site_id == personas.north.pk
    assert response.context["rows"][-1].site_id == personas.south.pk
    summary = response.context["summary"]
    assert [site["code"] for site in summary["sites"]] == ["north", "south"]
    # One row per step and kind, in words; one cell per site, linking to those lines.
    assert [
        (row["step_name"], row["kind_label"], [cell and cell["count"] for cell in row["by_site"]])
        for row in summary["rows"]
    ] == [
        ("Follow-up", "Overdue step", [2, None]),
        ("Intake", "Late step", [1, None]),
        ("Intake", "Overdue step", [1, 1]),
        ("Repeated missed contacts", "Missed escalation", [1, None]),
    ]
    body = response.content.decode()
    assert "?site=south&amp;step=intake&amp;kind=overdue_step" in body


def test_a_summary_cell_filters_the_list(personas, queue):
    response = personas.client(personas.admin).get(
        f"{url(personas)}?site=north&step=intake&kind=overdue_step"
    )
    assert refs(response) == ["C-N1"]


def test_age_is_days_since_due(personas, queue):
    response = personas.client(personas.admin).get(url(personas) + "?step=intake&kind=overdue_step")
    ages = {line.item.case.external_ref: line.age_days for line in response.context["rows"]}
    assert ages == {"C-N1": 1, "C-S1": 1}  # referred 3 days before, due 48h later


@pytest.mark.parametrize(
    "query, expected",
    [
        ("site=south", {"C-S1"}),
        ("kind=late_step", {"C-N2"}),
        ("step=repeated-missed-contacts", {"C-N3"}),
        ("age=0-1&step=intake", {"C-N1", "C-N2", "C-S1"}),
        ("age=2-7", set()),
    ],
)
def test_filters_narrow_the_queue(personas, queue, query, expected):
    response = personas.client(personas.admin).get(f"{url(personas)}?{query}")
    assert set(refs(response)) == expected


def test_status_and_assignee_filters(personas, queue):
    with tenancy.scope(personas.org):
        exception_item_resolve(item=item("C-N1"), by=personas.admin, note="Rebooked.")
    client = personas.client(personas.admin)
    client.post(
        url(personas, "exception_assign", pk=item("C-S1").pk), {"assignee": user_key(personas.lead)}
    )
    resolved = client.get(f"{url(personas)}?status=resolved")
    assigned = client.get(f"{url(personas)}?assignee={user_key(personas.lead)}")
    unassigned = client.get(f"{url(personas)}?assignee=none&step=intake")
    assert set(refs(resolved)) == {"C-N1"}
    assert set(refs(assigned)) == {"C-S1"}
    assert set(refs(unassigned)) == {"C-N2"}


def test_the_queue_shows_what_needs_action_unless_asked_for_all(personas, queue):
    with tenancy.scope(personas.org):
        exception_item_resolve(item=item("C-N1"), by=personas.admin, note="Rebooked.")
    client = personas.client(personas.supervisor)
    assert "C-N1" not in refs(client.get(url(personas)))
    assert "C-N1" in refs(client.get(f"{url(personas)}?status=all"))


def test_empty_state_says_when_everything_is_closed(personas, version):
    overdue_case(version, personas.north, "C-N1")
    compute(personas)
    with tenancy.scope(personas.org):
        exception_item_resolve(item=item("C-N1"), by=personas.admin, note="Rebooked.")
    body = personas.client(personas.supervisor).get(url(personas)).content.decode()
    assert "Nothing needs action for North on 2026-03-02: all 1 exceptions are resolved" in body


def test_an_unknown_filter_value_is_ignored_and_shown(personas, queue):
    response = personas.client(personas.supervisor).get(f"{url(personas)}?site=south")
    assert response.context["form"].errors["site"]
    assert "C-S1" not in refs(response)


def test_queue_pages_fifty_rows_by_key(personas, version):
    for number in range(53):
        overdue_case(version, personas.north, f"C-{number:03d}")
    compute(personas)
    client = personas.client(personas.admin)
    first = client.get(url(personas))
    assert len(first.context["rows"]) == 50
    last_id = first.context["rows"][-1].pk
    assert f"after={last_id}" in first.content.decode()
    second = client.get(f"{url(personas)}?after={last_id}")
    assert len(second.context["rows"]) == 3
    assert not second.context["page"].has_next and second.context["page"].has_previous
    first_refs = refs(first)
    assert not set(first_refs) & set(refs(second))
    back = client.get(f"{url(personas)}?before={second.context['rows'][0].pk}")
    assert refs(back) == first_refs
    last = client.get(f"{url(personas)}?last=1")
    assert refs(last) == (first_refs + refs(second))[-50:]
    assert "3 of 53" in second.content.decode()


def test_csv_export_has_the_filtered_lines_in_words(personas, queue):
    response = personas.client(personas.admin).get(
        f"{url(personas)}?site=north&step=intake&format=csv"
    )
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="exceptions-2026-03-02.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(row["Case"], row["Exception"]) for row in rows} == {
        ("C-N1", "Overdue step"),
        ("C-N2", "Late step"),
    }
    assert rows[0]["Site"] == "North" and rows[0]["Status"] == "Open"
    assert rows[0]["Step"] == "Intake"
    assert "_" not in response.content.decode().splitlines()[0]


def test_csv_export_of_a_supervisor_stays_in_their_sites(personas, queue):
    response = personas.client(personas.supervisor).get(f"{url(personas)}?format=csv")
    assert "C-S1" not in response.content.decode()


def test_htmx_assign_returns_the_updated_row(personas, queue):
    target = item("C-N1")
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_assign", pk=target.pk),
        {"assignee": user_key(personas.supervisor), "report": queue.pk},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith(f'<tr id="exception-{target.pk}">')
    assert "Assigned" in body and "sam" in body
    target.refresh_from_db()
    assert (target.status, target.assignee_key) == ("assigned", user_key(personas.supervisor))


def test_htmx_resolve_without_a_note_shows_the_error_in_the_row(personas, queue):
    target = item("C-N1")
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_resolve", pk=target.pk), {"note": "  "}, **HTMX
    )
    assert response.status_code == 200
    assert "Write the corrective action taken" in response.content.decode()
    target.refresh_from_db()
    assert target.status == "open"


def test_resolve_without_htmx_redirects_back_to_the_filtered_queue(personas, queue):
    target = item("C-N1")
    back = f"{url(personas)}?site=north"
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_resolve", pk=target.pk),
        {"note": "Visit rebooked; team briefed.", "next": back},
    )
    assert response.status_code == 302 and response["Location"] == back
    target.refresh_from_db()
    assert (target.status, target.note) == ("resolved", "Visit rebooked; team briefed.")
    assert target.history.first().history_user == personas.supervisor


def test_next_outside_the_organisation_is_not_followed(personas, queue):
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_accept", pk=item("C-N1").pk),
        {"reason": "In hospital.", "next": "https://evil.example/"},
    )
    assert response["Location"] == url(personas)


def test_accept_needs_a_reason_and_keeps_it(personas, queue):
    target = item("C-N1")
    client = personas.client(personas.lead)
    client.post(url(personas, "exception_accept", pk=target.pk), {"reason": ""}, **HTMX)
    target.refresh_from_db()
    assert target.status == "open"
    client.post(url(personas, "exception_accept", pk=target.pk), {"reason": "In hospital."}, **HTMX)
    target.refresh_from_db()
    assert (target.status, target.note) == ("accepted", "In hospital.")


def test_assigning_to_a_commissioner_is_refused(personas, queue):
    target = item("C-N1")
    response = personas.client(personas.admin).post(
        url(personas, "exception_assign", pk=target.pk),
        {"assignee": user_key(personas.commissioner)},
        **HTMX,
    )
    assert "Choose someone from the list" in response.content.decode()
    target.refresh_from_db()
    assert target.status == "open"


def test_bulk_resolve_closes_every_selected_item_with_one_note(personas, queue):
    chosen = [item("C-N1"), item("C-N2")]
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_bulk"),
        {"items": [i.pk for i in chosen], "action": "resolve", "note": "Huddle: rota fixed."},
    )
    assert response.status_code == 302
    for target in chosen:
        target.refresh_from_db()
        assert (target.status, target.note) == ("resolved", "Huddle: rota fixed.")
        assert target.history.first().history_user == personas.supervisor


def test_bulk_assign_leaves_closed_items_alone(personas, queue):
    with tenancy.scope(personas.org):
        exception_item_resolve(item=item("C-N1"), by=personas.admin, note="Done.")
    client = personas.client(personas.supervisor)
    response = client.post(
        url(personas, "exception_bulk"),
        {
            "items": [item("C-N1").pk, item("C-N2").pk],
            "action": "assign",
            "assignee": user_key(personas.lead),
        },
        follow=True,
    )
    assert (
        "1 exception assigned to lena. 1 already closed left as they were."
        in response.content.decode()
    )
    assert item("C-N1").status == "resolved"
    assert (item("C-N2").status, item("C-N2").assignee_key) == ("assigned", user_key(personas.lead))


def test_bulk_accept_without_a_reason_changes_nothing(personas, queue):
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_bulk"),
        {"items": [item("C-N1").pk], "action": "accept", "note": ""},
        follow=True,
    )
    assert "Write why these deviations are justified" in response.content.decode()
    assert item("C-N1").status == "open"


def test_bulk_with_an_item_outside_the_members_sites_is_404(personas, queue):
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_bulk"),
        {"items": [item("C-N1").pk, item("C-S1").pk], "action": "resolve", "note": "x"},
    )
    assert response.status_code == 404
    assert item("C-N1").status == "open"


@pytest.mark.parametrize("action", ["exception_assign", "exception_resolve", "exception_accept"])
def test_actions_on_another_sites_item_are_404(personas, queue, action):
    response = personas.client(personas.supervisor).post(
        url(personas, action, pk=item("C-S1").pk),
        {"assignee": user_key(personas.supervisor), "note": "x", "reason": "x"},
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "action", ["exception_assign", "exception_resolve", "exception_accept", "exception_detail"]
)
def test_actions_on_another_organisations_item_are_404(personas, queue, action):
    with tenancy.scope(personas.other_org):
        other = build_version("other")
        overdue_case(other, personas.other_site, "G-1")
        exception_report_compute(organization=personas.other_org, date=DAY)
        foreign = ExceptionItem.objects.get()
    client = personas.client(personas.admin)
    target = url(personas, action, pk=foreign.pk)
    response = (
        client.get(target) if action == "exception_detail" else client.post(target, {"note": "x"})
    )
    assert response.status_code == 404


def test_history_partial_for_htmx_and_full_page_otherwise(personas, queue):
    target = item("C-N1")
    client = personas.client(personas.supervisor)
    client.post(url(personas, "exception_resolve", pk=target.pk), {"note": "Rebooked."})
    partial = client.get(url(personas, "exception_detail", pk=target.pk), **HTMX)
    page = client.get(url(personas, "exception_detail", pk=target.pk))
    assert "<html" not in partial.content.decode()
    assert "Raised by the exception report for 2026-03-02" in partial.content.decode()
    assert "Resolved with a corrective action" in partial.content.decode()
    assert (
        "<html" in page.content.decode() and "Daily reports it appeared on" in page.content.decode()
    )


def test_empty_state_when_no_report_was_computed(personas, version):
    response = personas.client(personas.supervisor).get(url(personas))
    assert "No report computed yet" in response.content.decode()
    assert 'action="/o/acme/exceptions/recompute/"' in response.content.decode()


def test_empty_state_names_the_site_and_day(personas, version):
    overdue_case(version, personas.south, "C-S1")
    compute(personas)
    response = personas.client(personas.supervisor).get(url(personas))
    assert "No exceptions for North on 2026-03-02" in response.content.decode()


def test_date_parameter_shows_another_days_report(personas, queue):
    compute(personas, DAY + timedelta(days=1))
    client = personas.client(personas.admin)
    assert client.get(url(personas)).context["report"].date == DAY + timedelta(days=1)
    older = client.get(f"{url(personas)}?date=2026-03-02")
    assert older.context["report"].date == DAY
    assert "C-N2" in refs(older)  # late during DAY only


@pytest.mark.parametrize("typed", ["15/11/2026", "11/15/2026", "yesterday"])
def test_an_unreadable_date_is_named_with_the_expected_format(personas, queue, typed):
    compute(personas, DAY + timedelta(days=1))
    response = personas.client(personas.admin).get(url(personas), {"date": typed})
    assert response.status_code == 200
    assert response.context["form"].errors["date"] == [
        "Enter the date as YYYY-MM-DD, for example 2026-11-15. "
        "The latest report is shown until then."
    ]
    assert "Enter the date as YYYY-MM-DD" in response.content.decode()
    assert response.context["report"].date == DAY + timedelta(days=1)


def test_page_says_when_the_report_was_computed(personas, queue):
    body = personas.client(personas.supervisor).get(url(personas)).content.decode()
    assert "Daily report for <strong>Monday 2 March 2026</strong>" in body
    assert "computed at" in body


def test_recompute_runs_at_once_in_eager_mode(
    personas, queue, version, django_capture_on_commit_callbacks
):
    complete(ExceptionItem.objects.get(case__external_ref="C-N1").case, "intake", at(DAY, 20))
    client = personas.client(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(personas, "exception_recompute"), {"date": "2026-03-02"})
    assert response["Location"] == f"{url(personas)}?date=2026-03-02"
    assert item("C-N1").kind == "late_step"
    followed = client.get(response["Location"])
    assert "Report for 2026-03-02 recomputed now: 6 exceptions" in followed.content.decode()


def test_recompute_refuses_a_day_that_has_not_ended(personas, queue):
    response = personas.client(personas.admin).post(
        url(personas, "exception_recompute"), {"date": "2999-01-01"}, follow=True
    )
    assert "once the day has ended" in response.content.decode()


def _queue_queries(personas, version, count: int) -> int:
    for number in range(count):
        overdue_case(version, personas.north, f"Q-{count}-{number:03d}")
    compute(personas)
    client = personas.client(personas.supervisor)
    client.get(url(personas))  # warm the session and caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(personas))
    assert response.status_code == 200
    assert len(response.context["rows"]) == count
    return len(queries)


def test_queue_query_count_does_not_grow_with_rows(
    personas, version, django_assert_max_num_queries
):
    few = _queue_queries(personas, version, 5)
    with tenancy.scope(personas.org):
        Case.objects.all().delete()
    many = _queue_queries(personas, version, 50)
    assert many == few
    client = personas.client(personas.supervisor)
    # 17 with the workforce app installed: its staff directory and the cases' practitioners,
    # the panel's caseload flag (the open assignments and the standards' maximum), and the
    # front door's held referrals (pathways.views.front_door).
    with django_assert_max_num_queries(17):
        client.get(url(personas))


def test_a_new_site_added_to_a_supervisor_shows_up(personas, version):
    east = SiteFactory(organization=personas.org, code="east")
    overdue_case(version, east, "C-E1")
    compute(personas)
    services.membership_set(
        user=personas.supervisor,
        organization=personas.org,
        role="supervisor",
        sites=[personas.north, east],
    )
    response = personas.client(personas.supervisor).get(url(personas))
    assert refs(response) == ["C-E1"]


def test_an_overlong_resolve_note_is_refused_with_its_limit(personas, queue):
    target = item("C-N1")
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_resolve", pk=target.pk), {"note": "n" * 5001}, **HTMX
    )
    assert response.status_code == 200
    assert "The note is 5,001 characters: keep it to 5,000" in response.content.decode()
    target.refresh_from_db()
    assert (target.status, target.note) == ("open", "")


def test_an_overlong_bulk_accept_reason_changes_nothing(personas, queue):
    chosen = [item("C-N1"), item("C-N2")]
    response = personas.client(personas.lead).post(
        url(personas, "exception_bulk"),
        {"items": [i.pk for i in chosen], "action": "accept", "note": "r" * 20_000},
        follow=True,
    )
    assert "The reason is 20,000 characters: keep it to 5,000" in response.content.decode()
    assert [item(i.case.external_ref).status for i in chosen] == ["open", "open"]


def test_steps_of_two_pathways_with_one_name_say_their_pathway(personas, version):
    from pathways.models import Pathway, PathwayVersion, Step
    from pathways.selectors.exceptions import pathway_step_names

    with tenancy.scope(personas.org):
        other = PathwayVersion.objects.create(
            pathway=Pathway.objects.create(slug="bh", name="Behavioural health"),
            number=1,
            name="Behavioural health",
        )
        Step.objects.create(
            version=other, key="missed_follow_up", name="Follow-up", kind="touchpoint", order=1
        )
        Step.objects.create(version=other, key="intake", name="Intake", kind="intake", order=2)
        names = pathway_step_names()
    assert names["follow_up"] == "Follow-up (Hospital to home)"
    assert names["missed_follow_up"] == "Follow-up (Behavioural health)"
    # A key both pathways share is one row already; a name no other key has stays as it is.
    assert names["intake"] == "Intake"
    assert names["assessment"] == "Risk assessment"
