"""Thin Celery tasks for assurance: load by id, call the service, retry on transient errors."""

from datetime import date

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.utils import timezone

from assurance.models import AssuranceSnapshot
from assurance.services import assurance_snapshot_compute, month_add, month_parse
from scaling_ops.celery import TenantTask, enqueue
from scaling_ops.models import Organization

QUEUED_MARK_SECONDS = 6 * 60 * 60


@shared_task(
    base=TenantTask,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def compute_assurance_snapshot(
    *, organization_id: int, month: str, user_id: int | None = None, reason: str = ""
) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    by = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    snapshots = assurance_snapshot_compute(
        organization=organization, month=month_parse(month), by=by, reason=reason
    )
    return {"month": month, "snapshots": [s.pk for s in snapshots]}


def assurance_snapshot_enqueue(
    *, organization: Organization, month: date, by=None, reason: str = ""
) -> None:
    """Queues the month once the surrounding transaction commits (at once in eager mode).
    Raises ``QueueUnavailable`` when the broker cannot be reached."""
    transaction.on_commit(
        lambda: enqueue(
            compute_assurance_snapshot,
            organization_id=organization.pk,
            month=month.strftime("%Y-%m"),
            user_id=getattr(by, "pk", None),
            reason=reason,
        )
    )


@shared_task
def compute_due_assurance_snapshots() -> list[str]:
    """Hourly (beat): each organisation whose last local month has ended without a snapshot
    gets that month queued, once."""
    queued = []
    now = timezone.now()
    for organization in Organization.objects.all():
        last_month = month_add(timezone.localdate(now, organization.zone).replace(day=1), -1)
        done = AssuranceSnapshot.dangerously_unscoped.filter(
            organization=organization, month=last_month, partial=False
        ).exists()
        if done:
            continue
        mark = f"assurance:snapshot-queued:{organization.pk}:{last_month:%Y-%m}"
        if not cache.add(mark, 1, timeout=QUEUED_MARK_SECONDS):
            continue
        assurance_snapshot_enqueue(
            organization=organization, month=last_month, reason="Monthly assurance cycle"
        )
        queued.append(f"{organization.slug} {last_month:%Y-%m}")
    return queued
