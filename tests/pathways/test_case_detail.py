"""Case detail: attributes, the timeline in the order things happened (late arrivals marked),
obligations now with their status, and exception items with their triage history."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from pathways.assignees import user_key
from pathways.models import CaseEvent
from pathways.services.exception_triage import exception_item_assign
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, at, build_version, complete, event, make_case


@pytest.fixture
def case(personas, tenant):
    version = build_version()
    case = make_case(version, personas.north, "C-1", at(DAY - timedelta(days=3), 9), "high")
    # Sent in a different order from the order they happened; the missed contact arrives late.
    complete(case, "assessment", at(DAY - timedelta(days=1), 9), home_risk="low")
    complete(case, "intake", at(DAY - timedelta(days=2), 12))
    missed = event(case, "contact_missed", at(DAY - timedelta(days=2), 15))
    CaseEvent.objects.filter(pk=missed.pk).update(received_at=at(DAY, 8))
    CaseEvent.objects.exclude(pk=missed.pk).update(received_at=at(DAY, 8) - timedelta(hours=1))
    CaseEvent.objects.filter(case=case, step_key="intake").update(
        received_at=at(DAY - timedelta(days=2), 12, 5)
    )
    CaseEvent.objects.filter(case=case, step_key="assessment").update(
        received_at=at(DAY - timedelta(days=1), 9, 5)
    )
    exception_report_compute(organization=personas.org, date=DAY)
    return case


def url(personas, ref="C-1"):
    return reverse("case_detail", kwargs={"org": personas.org.slug, "external_ref": ref})


def test_timeline_is_in_the_order_things_happened(personas, case):
    response = personas.client(personas.supervisor).get(url(personas))
    assert [(e.type, e.step_key) for e in response.context["events"]] == [
        ("step_completed", "intake"),
        ("contact_missed", ""),
        ("step_completed", "assessment"),
    ]


def test_events_that_arrived_late_are_marked(personas, case):
    response = personas.client(personas.supervisor).get(url(personas))
    assert [e.arrived_late for e in response.context["events"]] == [False, True, False]
    assert response.content.decode().count('after it happened">arrived late') == 1


def test_obligations_now_come_with_their_status(personas, case):
    response = personas.client(personas.supervisor).get(url(personas))
    statuses = {(o["step"], o["status"]) for o in response.context["obligations"]}
    assert ("intake", "met") in statuses
    assert ("assessment", "met") in statuses
    assert ("follow_up", "overdue") in statuses
    assert 'class="badge overdue_step">Overdue<' in response.content.decode()


def test_obligations_read_as_sentences_with_step_names(personas, case):
    response = personas.client(personas.supervisor).get(url(personas))
    texts = [o["text"] for o in response.context["obligations"]]
    assert any(t.startswith("Intake due 48 h after referral, ") for t in texts), texts
    assert any(
        t.startswith("Risk assessment due 72 h (3 days) after Intake was completed, 3 Mar 12:00")
        for t in texts
    ), texts
    assert any(t.startswith("Follow-up due 24 h after the missed contact of ") for t in texts), (
        texts
    )


def test_the_case_page_shows_words_and_keeps_keys_behind_details(personas, case):
    body = personas.client(personas.supervisor).get(url(personas)).content.decode()
    visible = re.sub(r"<details.*?</details>", "", body, flags=re.S)
    visible = re.sub(r"<[^>]+>", " ", visible)
    assert "step:" not in visible and "@event:" not in visible and "@referral" not in visible
    assert "follow_up" not in visible and "home_risk" not in visible
    # The event's data as a labelled field, the keys still there for whoever opens the details.
    assert "<dt>Home risk</dt><dd>low</dd>" in body
    assert "<summary>details</summary>" in body and "step:intake/0@referral" in body


def test_exception_items_and_their_triage_history_are_shown(personas, case):
    with tenancy.scope(personas.org):
        item = case.exception_items.get(step="follow_up")
        exception_item_assign(item=item, by=personas.admin, assignee=user_key(personas.supervisor))
    response = personas.client(personas.supervisor).get(url(personas))
    body = response.content.decode()
    assert [i.step for i in response.context["items"]] == ["follow_up"]
    assert "Assigned to sam" in body
    assert "Raised by the exception report for 2026-03-02" in body


def test_case_attributes_are_shown(personas, case):
    body = personas.client(personas.lead).get(url(personas)).content.decode()
    assert "Case C-1" in body and "High risk" in body and "Hospital to home v1" in body


def test_commissioner_never_sees_a_case(personas, case):
    assert personas.client(personas.commissioner).get(url(personas)).status_code == 403


def test_a_case_at_another_site_is_404_for_a_supervisor(personas, case):
    with tenancy.scope(personas.org):
        make_case(case.version, personas.south, "C-S", at(DAY, 9))
    assert personas.client(personas.supervisor).get(url(personas, "C-S")).status_code == 404
    assert personas.client(personas.admin).get(url(personas, "C-S")).status_code == 200


def test_an_unknown_case_is_404(personas, case):
    assert personas.client(personas.admin).get(url(personas, "nope")).status_code == 404


def test_a_case_without_events_says_so(personas, case):
    with tenancy.scope(personas.org):
        make_case(case.version, personas.north, "C-2", at(DAY, 9))
    body = personas.client(personas.admin).get(url(personas, "C-2")).content.decode()
    assert "No events received for this case yet." in body
    assert "No exceptions raised for this case." in body
