"""The improvement log: overdue flags (list, CSV, home card for owners and supervisors), the
status life-cycle, one-click actions linked both ways (incident, drift signal, exception), and
deviations created from accepted exceptions."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assurance.models import MetricDefinition
from assurance.services import improvement_action_raise
from learning import selectors
from learning.models import Deviation, ImprovementAction
from learning.services import (
    improvement_action_create,
    improvement_action_raise_from_source,
    improvement_action_transition,
)
from pathways.services.exception_triage import (
    exception_item_accept,
    exception_item_resolve,
    exception_items_bulk_accept,
)
from scaling_ops import tenancy


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def make(personas, *, deadline, owner=None, site=None, status=None, title="Fix the rota"):
    action = improvement_action_create(
        title=title,
        owner=owner or personas.supervisor,
        deadline=deadline,
        site=site or personas.north,
        by=personas.lead,
    )
    if status:
        action.status = status
        action.save(update_fields=["status"])
    return action


# --- overdue ------------------------------------------------------------------------------


def test_open_and_in_progress_actions_past_their_deadline_are_overdue(personas, tenant):
    today = selectors.organization_today()
    late = make(personas, deadline=today - timedelta(days=1))
    late_in_progress = make(personas, deadline=today - timedelta(days=9), status="in_progress")
    due_today = make(personas, deadline=today)
    done_late = make(personas, deadline=today - timedelta(days=3), status="done")
    verified_late = make(personas, deadline=today - timedelta(days=3), status="verified")
    overdue = set(selectors.overdue_actions(ImprovementAction.objects.all(), today=today))
    assert overdue == {late, late_in_progress}
    assert selectors.action_is_overdue(late, today)
    assert not selectors.action_is_overdue(due_today, today)
    assert not selectors.action_is_overdue(done_late, today)
    assert not selectors.action_is_overdue(verified_late, today)


def test_the_list_flags_overdue_actions_and_filters_and_exports_them(personas):
    with tenancy.scope(personas.org):
        today = selectors.organization_today()
        make(personas, deadline=today - timedelta(days=2), title="Late one")
        make(personas, deadline=today + timedelta(days=2), title="On time")
    client = personas.client(personas.lead)
    page = client.get(url(personas, "learning_action_list")).content.decode()
    assert "1 action in your sites is overdue" in page
    assert page.count('class="badge bad">Overdue') == 1
    only = client.get(url(personas, "learning_action_list"), {"overdue": "on"}).content.decode()
    assert "Late one" in only and "On time" not in only
    body = client.get(url(personas, "learning_action_list"), {"format": "csv"}).content.decode()
    rows = {row["Title"]: row for row in csv.DictReader(io.StringIO(body))}
    assert rows["Late one"]["Overdue"] == "yes" and rows["On time"]["Overdue"] == "no"


def test_owners_and_supervisors_see_overdue_actions_on_their_home(personas):
    with tenancy.scope(personas.org):
        today = selectors.organization_today()
        make(personas, deadline=today - timedelta(days=2), owner=personas.supervisor)
        make(personas, deadline=today - timedelta(days=2), owner=personas.lead)
    home = url(personas, "org_home")
    supervisor = personas.client(personas.supervisor).get(home).content.decode()
    assert "Your overdue improvement actions" in supervisor
    assert "2 improvement actions overdue in your sites" in supervisor
    lead = personas.client(personas.lead).get(home).content.decode()
    assert "1 improvement action you own is past the deadline" in lead
    admin = personas.client(personas.admin).get(home).content.decode()
    assert "Your overdue improvement actions" not in admin
    assert "2 improvement actions overdue" in admin
    commissioner = personas.client(personas.commissioner).get(home).content.decode()
    assert "overdue improvement" not in commissioner


# --- life-cycle ---------------------------------------------------------------------------


def test_the_status_moves_forward_and_done_needs_closure_evidence(personas, tenant):
    action = make(personas, deadline=date(2026, 12, 1))
    with pytest.raises(ValidationError, match="cannot become verified"):
        improvement_action_transition(action=action, by=personas.lead, status="verified")
    improvement_action_transition(action=action, by=personas.supervisor, status="in_progress")
    with pytest.raises(ValidationError, match="closure evidence"):
        improvement_action_transition(action=action, by=personas.supervisor, status="done")
    improvement_action_transition(
        action=action, by=personas.supervisor, status="done", closure_evidence="Rota v4"
    )
    improvement_action_transition(
        action=action, by=personas.lead, status="verified", reaudit_on=date(2027, 1, 15)
    )
    action.refresh_from_db()
    assert (action.status, action.verified_by, action.reaudit_on) == (
        "verified",
        personas.lead,
        date(2027, 1, 15),
    )
    reasons = list(
        action.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons == [
        "Raised",
        "Status → in progress",
        "Status → done",
        "Status → verified",
    ]


def test_the_owner_must_be_a_member_who_can_act(personas, tenant):
    with pytest.raises(ValidationError, match="owner"):
        make(personas, deadline=date(2026, 12, 1), owner=personas.commissioner)


def test_a_supervisor_cannot_raise_a_network_wide_action(personas):
    client = personas.client(personas.supervisor)
    response = client.post(
        url(personas, "learning_action_new"),
        {"title": "Everywhere", "site": "", "source_kind": "other",
         "owner": personas.supervisor.pk, "deadline": "2026-12-01"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "network-wide actions are raised by implementation leads" in response.content.decode()
    with tenancy.scope(personas.org):
        assert not ImprovementAction.objects.exists()


# --- both-way links -----------------------------------------------------------------------


def test_an_incident_raises_an_action_in_one_click_linked_both_ways(personas, assured):
    incident = assured["incident"]
    client = personas.client(personas.supervisor)
    response = client.post(url(personas, "assurance_incident_action", pk=incident.pk))
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        incident.refresh_from_db()
        action = ImprovementAction.objects.get()
    assert incident.improvement_action_ref == action.reference == "IA-1"
    assert (action.source_kind, action.source_model, action.source_id) == (
        "incident",
        "incident",
        incident.pk,
    )
    assert action.site == personas.north and action.owner == personas.supervisor
    page = client.get(url(personas, "learning_action_detail", number=1)).content.decode()
    assert url(personas, "assurance_incident_detail", pk=incident.pk) in page
    incident_page = client.get(url(personas, "assurance_incident_detail", pk=incident.pk))
    assert "IA-1" in incident_page.content.decode()


def test_a_drift_signal_raises_an_action_linked_both_ways(personas, assured):
    signal = assured["signal"]
    with tenancy.scope(personas.org):
        reference = improvement_action_raise(source=signal, by=personas.lead)
        action = ImprovementAction.objects.get()
        signal.refresh_from_db()
        assert signal.improvement_action_ref == reference == action.reference
        assert action.source_kind == "drift_signal"
        # In words: the site's and the measure's names, never their codes.
        measure = MetricDefinition.objects.get(code=signal.measure).name
        assert action.source_label == (
            f"Drift at {signal.site.name}, {signal.month:%B %Y}: {measure} "
            f"({signal.get_basis_display().lower()})"
        )
        assert signal.measure not in action.title and signal.site.code not in action.title
        with pytest.raises(ValidationError, match="exists already"):
            improvement_action_raise(source=signal, by=personas.lead)
    page = personas.client(personas.commissioner).get(
        url(personas, "learning_action_detail", number=action.number)
    )
    assert url(personas, "assurance_drift_detail", pk=signal.pk) in page.content.decode()


def test_an_exception_raises_an_action_in_one_click_linked_both_ways(personas, exception_items):
    item = exception_items["north"]
    client = personas.client(personas.supervisor)
    # The queue row's menu fetches the item's actions, the learning app's links among them.
    queue = client.get(url(personas, "exception_queue"), {"date": "2026-03-02"}).content.decode()
    actions = url(personas, "exception_actions", pk=item.pk)
    assert actions in queue
    menu = client.get(actions, HTTP_HX_REQUEST="true").content.decode()
    one_click = url(personas, "learning_action_from_exception", pk=item.pk)
    assert one_click in menu
    response = client.post(one_click)
    assert response.status_code == 302
    assert response["Location"] == url(personas, "learning_action_detail", number=1)
    assert client.post(one_click)["Location"] == response["Location"]  # no duplicate
    with tenancy.scope(personas.org):
        action = ImprovementAction.objects.get()
    assert (action.source_kind, action.source_id, action.site) == (
        "exception",
        item.pk,
        personas.north,
    )
    assert "SECRET" not in action.title + action.source_label
    page = client.get(url(personas, "learning_action_detail", number=1)).content.decode()
    assert url(personas, "exception_detail", pk=item.pk) in page
    detail = client.get(url(personas, "exception_detail", pk=item.pk)).content.decode()
    assert url(personas, "learning_action_detail", number=1) in detail
    assert "Improvement action IA-1" in detail


def test_a_supervisor_cannot_raise_from_an_exception_outside_their_sites(personas, exception_items):
    client = personas.client(personas.supervisor)
    south = exception_items["south"]
    response = client.post(url(personas, "learning_action_from_exception", pk=south.pk))
    assert response.status_code == 404


def test_an_exception_logs_a_deviation_linked_both_ways(personas, exception_items):
    item = exception_items["north"]
    client = personas.client(personas.supervisor)
    new = url(personas, "learning_deviation_new")
    form = client.get(new, {"exception": item.pk}).content.decode()
    assert 'value="intake"' in form
    response = client.post(
        new,
        {"exception": item.pk, "site": "north", "step": "intake", "category": "workaround",
         "referral_source": "hospital", "occurred_on": "2026-03-01", "note": "Weekend intake"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        deviation = Deviation.objects.get()
    assert deviation.exception_id == item.pk
    page = client.get(response["Location"]).content.decode()
    assert url(personas, "exception_detail", pk=item.pk) in page
    detail = client.get(url(personas, "exception_detail", pk=item.pk)).content.decode()
    assert url(personas, "learning_deviation_detail", number=deviation.number) in detail


# --- accepted exceptions become deviations --------------------------------------------------


def test_an_accepted_exception_becomes_a_deviation(
    personas, exception_items, django_capture_on_commit_callbacks
):
    item = exception_items["north"]
    with tenancy.scope(personas.org), django_capture_on_commit_callbacks(execute=True):
        exception_item_accept(item=item, by=personas.supervisor, reason="Patient asked to wait")
    with tenancy.scope(personas.org):
        deviation = Deviation.objects.get()
        assert deviation.history.get().history_user == personas.supervisor
    assert (deviation.exception_id, deviation.site, deviation.step) == (
        item.pk,
        personas.north,
        "intake",
    )
    assert deviation.category == Deviation.Category.STEP_DELAYED
    assert deviation.note == "Patient asked to wait"
    assert deviation.logged_by == personas.supervisor


def test_bulk_accept_logs_one_deviation_per_exception_and_resolve_logs_none(
    personas, exception_items, django_capture_on_commit_callbacks
):
    with tenancy.scope(personas.org), django_capture_on_commit_callbacks(execute=True):
        exception_item_resolve(item=exception_items["south"], by=personas.lead, note="Called")
        exception_items_bulk_accept(
            items=list(exception_items.values()), by=personas.lead, reason="Bank holiday"
        )
    with tenancy.scope(personas.org):
        assert list(Deviation.objects.values_list("site__code", flat=True)) == ["north"]
        # Logging the same accepted exception again is refused.
        with pytest.raises(ValidationError):
            from learning.services import deviation_log

            deviation_log(
                site=personas.north, category="other", step="intake",
                occurred_on=date(2026, 3, 1), exception_id=exception_items["north"].pk,
            )  # fmt: skip


def test_raising_from_a_source_twice_gives_the_first_action(personas, exception_items, tenant):
    item = exception_items["north"]
    first = improvement_action_raise_from_source(source=item, by=personas.supervisor)
    again = improvement_action_raise_from_source(source=item, by=personas.lead)
    assert first == again
