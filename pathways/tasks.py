"""Thin Celery tasks for pathways: load by id, call the service, retry on transient errors."""

from datetime import date as date_type
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db.models import Max
from django.utils import timezone

from pathways.models import ExceptionReport
from pathways.services.exceptions import exception_report_compute
from scaling_ops.celery import TenantTask, enqueue
from scaling_ops.models import Organization

# How long a queued report suppresses another enqueue of the same (organisation, date) by the
# beat task: longer than a report takes, shorter than a day.
QUEUED_MARK_SECONDS = 2 * 60 * 60


@shared_task(
    base=TenantTask,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def compute_exception_report(*, organization_id: int, date: str) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    report = exception_report_compute(organization=organization, date=date_type.fromisoformat(date))
    return {"report": report.pk, "date": date, "items": report.item_count}


def exception_report_enqueue(*, organization: Organization, date: date_type) -> None:
    """Queues the report once the surrounding transaction commits (at once outside one, and run
    at once in eager mode). Raises ``QueueUnavailable`` when the broker cannot be reached."""
    transaction.on_commit(
        lambda: enqueue(
            compute_exception_report, organization_id=organization.pk, date=date.isoformat()
        )
    )


@shared_task
def compute_due_exception_reports() -> list[str]:
    """Every 15 minutes (beat): each organisation whose local date has moved past its last
    computed report gets yesterday's report queued, once."""
    last = dict(
        ExceptionReport.dangerously_unscoped.values("organization_id")
        .annotate(last=Max("date"))
        .values_list("organization_id", "last")
    )
    queued = []
    now = timezone.now()
    for organization in Organization.objects.all():
        yesterday = timezone.localdate(now, organization.zone) - timedelta(days=1)
        if last.get(organization.pk) is not None and last[organization.pk] >= yesterday:
            continue
        mark = f"pathways:exception-report-queued:{organization.pk}:{yesterday.isoformat()}"
        if not cache.add(mark, 1, timeout=QUEUED_MARK_SECONDS):
            continue
        exception_report_enqueue(organization=organization, date=yesterday)
        queued.append(f"{organization.slug} {yesterday.isoformat()}")
    return queued
