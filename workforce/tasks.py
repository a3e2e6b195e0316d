"""Thin Celery tasks for the workforce integrity checks: load by id, call the service."""

from datetime import date as date_type
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db.models import Max
from django.utils import timezone

from scaling_ops.celery import TenantTask
from scaling_ops.models import Organization
from workforce.models import WorkforceCheckRun
from workforce.services.checks import workforce_checks_compute

QUEUED_MARK_SECONDS = 2 * 60 * 60


@shared_task(
    base=TenantTask,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def compute_workforce_checks(*, organization_id: int, date: str) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    run = workforce_checks_compute(organization=organization, date=date_type.fromisoformat(date))
    return {"run": run.pk, "date": date, "failing": run.failing}


def workforce_checks_enqueue(*, organization: Organization, date: date_type) -> None:
    transaction.on_commit(
        lambda: compute_workforce_checks.delay(
            organization_id=organization.pk, date=date.isoformat()
        )
    )


@shared_task
def compute_due_workforce_checks() -> list[str]:
    """On the exception engine's beat cadence (every 15 minutes): each organisation whose local
    day has ended gets yesterday's workforce checks queued, once."""
    last = dict(
        WorkforceCheckRun.dangerously_unscoped.values("organization_id")
        .annotate(last=Max("date"))
        .values_list("organization_id", "last")
    )
    queued = []
    now = timezone.now()
    for organization in Organization.objects.all():
        yesterday = timezone.localdate(now, organization.zone) - timedelta(days=1)
        if last.get(organization.pk) is not None and last[organization.pk] >= yesterday:
            continue
        mark = f"workforce:checks-queued:{organization.pk}:{yesterday.isoformat()}"
        if not cache.add(mark, 1, timeout=QUEUED_MARK_SECONDS):
            continue
        workforce_checks_enqueue(organization=organization, date=yesterday)
        queued.append(f"{organization.slug} {yesterday.isoformat()}")
    return queued
