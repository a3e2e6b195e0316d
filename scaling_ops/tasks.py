"""Thin Celery tasks for notices: load by id, call the service."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from scaling_ops.beat import enqueue_where_due
from scaling_ops.celery import enqueue, tenant_task
from scaling_ops.models import Organization
from scaling_ops.notifications import notices_email, notices_generate

NOTICE_TICK_SECONDS = 15 * 60


@tenant_task
def send_notices(*, organization_id: int, at: str) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    new = notices_generate(organization=organization, now=datetime.fromisoformat(at))
    sent = notices_email(organization=organization)
    return {"new": len(new), **sent}


def _tick(now: datetime) -> datetime:
    """The quarter hour ``now`` falls in: one run per organisation per tick."""
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


@shared_task
def send_due_notices() -> list[str]:
    """Every quarter hour: each organisation's notices made and emailed, once per tick. A rerun
    within the tick queues nothing; a rerun of the service itself creates nothing twice (each
    notice is kept by its natural key)."""
    now = timezone.now()
    return enqueue_where_due(
        due=lambda organization, at: _tick(now),
        mark_prefix="notices:queued",
        enqueue=lambda organization, tick: enqueue(
            send_notices, organization_id=organization.pk, at=now.isoformat()
        ),
        label=lambda tick: tick.strftime("%Y-%m-%dT%H:%M"),
        mark_seconds=NOTICE_TICK_SECONDS,
    )
