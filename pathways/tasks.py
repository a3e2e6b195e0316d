"""Thin Celery tasks for pathways: load by id, call the service, retry on transient errors."""

from datetime import date as date_type

from celery import shared_task

from pathways.models import ExceptionReport
from pathways.services.exceptions import exception_report_compute
from scaling_ops.beat import yesterday_enqueue_where_due
from scaling_ops.celery import enqueue, tenant_task
from scaling_ops.models import Organization


@tenant_task
def compute_exception_report(*, organization_id: int, date: str) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    report = exception_report_compute(organization=organization, date=date_type.fromisoformat(date))
    return {"report": report.pk, "date": date, "items": report.item_count}


def exception_report_enqueue(*, organization: Organization, date: date_type) -> bool:
    """Queues the report (see ``enqueue``: True when it has already run here). Raises
    ``QueueUnavailable`` when the broker cannot be reached."""
    return enqueue(compute_exception_report, organization_id=organization.pk, date=date.isoformat())


@shared_task
def compute_due_exception_reports() -> list[str]:
    """Every 15 minutes (beat): each organisation whose local date has moved past its last
    computed report gets yesterday's report queued, once."""
    return yesterday_enqueue_where_due(
        model=ExceptionReport,
        mark_prefix="pathways:exception-report-queued",
        enqueue=exception_report_enqueue,
    )


@tenant_task
def expire_exception_report_lines(*, organization_id: int) -> dict:
    from django.utils import timezone

    from pathways.services.report_retention import exception_report_lines_expire

    organization = Organization.objects.get(pk=organization_id)
    expired = exception_report_lines_expire(organization=organization, now=timezone.now())
    return {"reports": expired.reports, "lines": expired.lines}


@shared_task
def expire_report_lines_everywhere() -> list[str]:
    """Daily (beat): each organisation's report lines older than the retention window
    (settings.EXCEPTION_REPORT_RETENTION_DAYS) are rolled up and dropped, one task each."""
    queued = []
    for organization in Organization.objects.all():
        enqueue(expire_exception_report_lines, organization_id=organization.pk)
        queued.append(organization.slug)
    return queued
