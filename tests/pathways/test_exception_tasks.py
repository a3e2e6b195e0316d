"""The Celery tasks: the per-organisation report task (thin, via the service) and the beat task
that queues each organisation's report once its local day has ended."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from pathways.models import ExceptionReport
from pathways.tasks import compute_due_exception_reports, compute_exception_report
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, build_version, overdue_case


@pytest.fixture
def data(personas, tenant):
    version = build_version()
    overdue_case(version, personas.north, "C-1")


def reports(org) -> list[date]:
    with tenancy.scope(org):
        return list(ExceptionReport.objects.order_by("date").values_list("date", flat=True))


def test_task_delay_computes_the_report_in_eager_mode(personas, data):
    with tenancy.isolated():
        result = compute_exception_report.delay(organization_id=personas.org.pk, date="2026-03-02")
    assert result.get()["items"] == 1
    assert reports(personas.org) == [DAY]


def test_beat_task_queues_yesterday_for_each_organisation_once(
    personas, data, django_capture_on_commit_callbacks
):
    with tenancy.isolated(), django_capture_on_commit_callbacks(execute=True):
        queued = compute_due_exception_reports()
        again = compute_due_exception_reports()
    yesterday_acme = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    assert f"acme {yesterday_acme.isoformat()}" in queued
    assert {entry.split()[0] for entry in queued} == {"acme", "globex"}
    assert again == []
    assert reports(personas.org) == [yesterday_acme]


def test_beat_task_skips_an_organisation_whose_report_is_current(
    personas, data, django_capture_on_commit_callbacks
):
    yesterday = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    with tenancy.isolated(), django_capture_on_commit_callbacks(execute=True):
        compute_exception_report.delay(organization_id=personas.org.pk, date=yesterday.isoformat())
        queued = compute_due_exception_reports()
    assert [entry.split()[0] for entry in queued] == ["globex"]


def test_beat_task_uses_each_organisations_local_date(personas, data):
    personas.org.time_zone = "Pacific/Kiritimati"  # UTC+14: its day starts first
    personas.org.save(update_fields=["time_zone"])
    with tenancy.isolated():
        queued = compute_due_exception_reports()
    local = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    assert f"acme {local.isoformat()}" in queued
