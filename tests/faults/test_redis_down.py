"""Redis down at enqueue time: the Recompute buttons say so plainly and nothing is lost.

Needs no Redis: the broker is pointed at a local port nothing listens on, which is what a
stopped Redis looks like to a client. Transactional tests, because in production a request runs
in autocommit and the enqueue happens inside the view (inside a test transaction it would be
deferred to a commit that never comes)."""

from unittest.mock import patch

import pytest
from django.urls import reverse

from assurance.models import AssuranceSnapshot
from assurance.services import assurance_snapshot_compute
from pathways.assignees import user_key
from pathways.models import ExceptionItem, ExceptionReport
from pathways.services.exception_triage import exception_item_assign
from pathways.services.exceptions import exception_report_compute
from pathways.tasks import compute_exception_report
from scaling_ops import tenancy
from scaling_ops.celery import QueueUnavailable, enqueue
from tests.assurance.helpers import MONTH, build_month
from tests.faults.services import broker, closed_port
from tests.pathways.exception_helpers import DAY, build_version, lines_of, overdue_case
from workforce.models import WorkforceCheckRun
from workforce.services.checks import workforce_checks_compute

UNAVAILABLE = "the task queue is unavailable. Nothing was changed"


@pytest.fixture
def broker_down():
    with broker(f"redis://127.0.0.1:{closed_port()}/0"):
        yield


def test_enqueue_raises_queue_unavailable_when_the_broker_is_down(broker_down):
    with pytest.raises(QueueUnavailable, match="task queue is unavailable"):
        enqueue(compute_exception_report, organization_id=1, date=DAY.isoformat())


def _report_state(personas):
    with tenancy.scope(personas.org):
        report = ExceptionReport.objects.get(date=DAY)
        items = set(
            ExceptionItem.objects.values_list("case__external_ref", "status", "assignee_key")
        )
        return (report.pk, report.computed_at, report.item_count), lines_of(report), items


@pytest.mark.django_db(transaction=True)
def test_exception_recompute_with_the_broker_down_says_so_and_changes_nothing(personas):
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "C-1")
        overdue_case(version, personas.north, "C-2")
        exception_report_compute(organization=personas.org, date=DAY)
        item = ExceptionItem.objects.get(case__external_ref="C-1")
        exception_item_assign(
            item=item, by=personas.supervisor, assignee=user_key(personas.supervisor)
        )
    before = _report_state(personas)
    assert len(before[1]) == 2

    client = personas.client(personas.supervisor)
    queue = reverse("exception_queue", kwargs={"org": "acme"})
    with broker(f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.post(
            reverse("exception_recompute", kwargs={"org": "acme"}), {"date": DAY.isoformat()}
        )
    assert response.status_code == 302
    assert response["Location"] == f"{queue}?date={DAY.isoformat()}"
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert f"The report for {DAY} could not be queued: {UNAVAILABLE}" in body
    assert "C-1" in body and "C-2" in body  # the last computed report is still shown
    assert _report_state(personas) == before


@pytest.mark.django_db(transaction=True)
def test_assurance_recompute_with_the_broker_down_says_so_and_changes_nothing(personas):
    with tenancy.scope(personas.org):
        build_month(personas)
        assurance_snapshot_compute(organization=personas.org, month=MONTH)
        before = set(AssuranceSnapshot.objects.values_list("pk", "site_id", "revision"))
    assert before

    client = personas.client(personas.lead)
    with broker(f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.post(
            reverse("assurance_recompute", kwargs={"org": "acme"}),
            {"month": "2026-03", "reason": "Late audit data"},
        )
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f"2026-03 could not be queued: {UNAVAILABLE}" in page.content.decode()
    with tenancy.scope(personas.org):
        after = set(AssuranceSnapshot.objects.values_list("pk", "site_id", "revision"))
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_workforce_recompute_with_the_broker_down_says_so_and_changes_nothing(personas):
    """It used ``.delay`` directly: the broker's error was a 500."""
    with tenancy.scope(personas.org):
        workforce_checks_compute(organization=personas.org, date=DAY)
        before = set(WorkforceCheckRun.objects.values_list("pk", "date", "computed_at"))
    assert before

    client = personas.client(personas.supervisor)
    with broker(f"redis://127.0.0.1:{closed_port()}/0"):
        response = client.post(reverse("workforce_recompute", kwargs={"org": "acme"}))
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "could not be queued: " + UNAVAILABLE in page.content.decode()
    with tenancy.scope(personas.org):
        after = set(WorkforceCheckRun.objects.values_list("pk", "date", "computed_at"))
    assert after == before


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_back_the_same_button_works(personas):
    """The failure leaves nothing stuck: once the queue is back, Recompute runs as usual."""
    with tenancy.scope(personas.org):
        overdue_case(build_version(), personas.north, "C-1")
    client = personas.client(personas.supervisor)
    target = reverse("exception_recompute", kwargs={"org": "acme"})
    with broker(f"redis://127.0.0.1:{closed_port()}/0"):
        client.post(target, {"date": DAY.isoformat()})
    with tenancy.scope(personas.org):
        assert not ExceptionReport.objects.exists()
    response = client.post(target, {"date": DAY.isoformat()}, follow=True)
    assert f"Report for {DAY} recomputed now: 1 exceptions" in response.content.decode()


def test_partner_api_fails_open_when_the_throttle_cache_is_down(personas, caplog):
    """The rate limiter's store being down must not cost a partner its events: the call is
    served (and the outage logged) instead of a 500."""
    from django.test import override_settings

    from tests.pathways.api_helpers import case_payload, partner_client

    with tenancy.scope(personas.org):
        build_version()
    client = partner_client(personas.org, [personas.north])
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = client.put("/api/v1/cases/C-9/", case_payload(), format="json")
    assert response.status_code == 201, response.content
    assert "throttle skipped, its cache is unavailable" in caplog.text
    with tenancy.scope(personas.org):
        assert ExceptionItem.objects.count() == 0  # nothing else was touched
        from pathways.models import Case

        assert Case.objects.filter(external_ref="C-9").exists()


def test_a_beat_enqueue_that_fails_is_tried_again_on_the_next_tick(personas):
    from scaling_ops.beat import yesterday_enqueue_where_due

    def broker_down(**kwargs):
        raise QueueUnavailable("The task queue is unavailable: refused")

    queued = []
    with pytest.raises(QueueUnavailable):
        yesterday_enqueue_where_due(
            model=ExceptionReport, mark_prefix="test-beat", enqueue=broker_down
        )
    done = yesterday_enqueue_where_due(
        model=ExceptionReport,
        mark_prefix="test-beat",
        enqueue=lambda **kwargs: queued.append(kwargs["organization"].slug),
    )
    # The organisation whose enqueue failed is queued on the next tick, not held for hours.
    assert personas.org.slug in queued
    assert len(done) == len(queued)


@pytest.mark.django_db(transaction=True)
def test_the_monthly_beat_that_fails_to_enqueue_tries_again_on_the_next_tick(personas):
    """The monthly beat had its own loop that kept the month marked as queued for six hours
    after a failed enqueue; it now shares the daily beats' loop."""
    from assurance.tasks import compute_due_assurance_snapshots

    with broker(f"redis://127.0.0.1:{closed_port()}/0"), pytest.raises(QueueUnavailable):
        compute_due_assurance_snapshots()
    queued = []
    with patch(
        "assurance.tasks.assurance_snapshot_enqueue",
        lambda **kwargs: queued.append(kwargs["organization"].slug),
    ):
        done = compute_due_assurance_snapshots()
    assert personas.org.slug in queued
    assert len(done) == len(queued)
