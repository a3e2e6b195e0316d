"""Thin Celery tasks for assurance: load by id, call the service, retry on transient errors."""

from datetime import date, datetime
from datetime import date as date_type

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from assurance.models import AssuranceSnapshot
from assurance.services import assurance_snapshot_compute, month_add, month_parse
from scaling_ops.beat import enqueue_where_due
from scaling_ops.celery import enqueue, tenant_task
from scaling_ops.models import Organization

# A month's computation takes longer than a day's: its mark lasts longer.
QUEUED_MARK_SECONDS = 6 * 60 * 60


@tenant_task
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
) -> bool:
    """Queues the month (see ``enqueue``: True when it has already run here). Raises
    ``QueueUnavailable`` when the broker cannot be reached."""
    return enqueue(
        compute_assurance_snapshot,
        organization_id=organization.pk,
        month=month.strftime("%Y-%m"),
        user_id=getattr(by, "pk", None),
        reason=reason,
    )


@shared_task
def compute_due_assurance_snapshots() -> list[str]:
    """Hourly (beat): each organisation whose last local month has ended without a snapshot
    gets that month queued, once."""

    def due(organization: Organization, now: datetime) -> date | None:
        last_month = month_add(timezone.localdate(now, organization.zone).replace(day=1), -1)
        done = AssuranceSnapshot.dangerously_unscoped.filter(
            organization=organization, month=last_month, partial=False
        ).exists()
        return None if done else last_month

    return enqueue_where_due(
        due=due,
        mark_prefix="assurance:snapshot-queued",
        enqueue=lambda organization, month: assurance_snapshot_enqueue(
            organization=organization, month=month, reason="Monthly assurance cycle"
        ),
        label=lambda month: f"{month:%Y-%m}",
        mark_seconds=QUEUED_MARK_SECONDS,
    )


@tenant_task
def draw_reaudit_samples(*, organization_id: int, date: str) -> dict:
    from assurance.services.drift_response import reaudit_samples_draw_due

    organization = Organization.objects.get(pk=organization_id)
    drawn = reaudit_samples_draw_due(organization=organization, today=date_type.fromisoformat(date))
    return {"date": date, "samples": [s.pk for s in drawn]}


@shared_task
def draw_due_reaudit_samples() -> list[str]:
    """Hourly (beat): each organisation's re-audit samples of windows open on its local day,
    drawn once (a drawn sample is found and skipped)."""
    return enqueue_where_due(
        due=lambda organization, now: timezone.localdate(now, organization.zone),
        mark_prefix="assurance:reaudit-samples-queued",
        enqueue=lambda organization, day: enqueue(
            draw_reaudit_samples, organization_id=organization.pk, date=day.isoformat()
        ),
        mark_seconds=QUEUED_MARK_SECONDS,
    )
