"""``enqueue`` reports whether the task already ran here, and every Recompute button words its
message from that answer (not from Celery's eager flag)."""

import pytest
from django.urls import reverse

from pathways.tasks import compute_exception_report
from scaling_ops import tenancy
from scaling_ops.celery import enqueue
from tests.pathways.exception_helpers import DAY


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_in_eager_mode_has_run_when_it_returns(personas):
    from pathways.models import ExceptionReport

    assert enqueue(compute_exception_report, organization_id=personas.org.pk, date=str(DAY))
    with tenancy.scope(personas.org):
        assert ExceptionReport.objects.filter(date=DAY).exists()


def test_enqueue_to_a_broker_inside_a_transaction_waits_for_the_commit(
    personas, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(compute_exception_report.app.conf, "task_always_eager", False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ran_inline = enqueue(
            compute_exception_report, organization_id=personas.org.pk, date=str(DAY)
        )
    assert ran_inline is False
    assert len(callbacks) == 1  # sent once the request's transaction commits


def test_enqueue_in_eager_mode_inside_a_transaction_runs_at_once_on_its_connection(
    personas, django_capture_on_commit_callbacks
):
    from pathways.models import ExceptionReport

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ran_inline = enqueue(
            compute_exception_report, organization_id=personas.org.pk, date=str(DAY)
        )
    assert ran_inline is True and not callbacks
    with tenancy.scope(personas.org):
        assert ExceptionReport.objects.filter(date=DAY).exists()


BUTTONS = [
    # (the view module's enqueue function, url name, persona, form, the "queued" message)
    (
        "pathways.views.exceptions.exception_report_enqueue",
        "exception_recompute",
        "supervisor",
        {"date": DAY.isoformat()},
        f"Recompute of {DAY} queued.",
    ),
    (
        "assurance.views.snapshots.assurance_snapshot_enqueue",
        "assurance_recompute",
        "lead",
        {"month": "2026-03", "reason": "Late audit data"},
        "Recompute of 2026-03 queued.",
    ),
    (
        "workforce.views.pages.workforce_checks_enqueue",
        "workforce_recompute",
        "supervisor",
        {},
        "queued; reload in a minute.",
    ),
]


@pytest.mark.parametrize("target, url_name, persona, form, queued", BUTTONS)
def test_a_recompute_sent_to_a_worker_says_queued(
    personas, monkeypatch, target, url_name, persona, form, queued
):
    """Eager mode is on in the tests: a view that still read Celery's flag would say
    "recomputed" for work a worker has not done."""
    calls = []
    monkeypatch.setattr(target, lambda **kwargs: calls.append(kwargs) or False)
    client = personas.client(getattr(personas, persona))
    response = client.post(reverse(url_name, kwargs={"org": "acme"}), form, follow=True)
    assert response.status_code == 200
    assert len(calls) == 1
    assert queued in response.content.decode()
