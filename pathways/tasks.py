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
