"""Thin Celery tasks for the workforce integrity checks: load by id, call the service."""

from datetime import date as date_type

from celery import shared_task

from scaling_ops.beat import yesterday_enqueue_where_due
from scaling_ops.celery import enqueue, tenant_task
from scaling_ops.models import Organization
from workforce.models import WorkforceCheckRun
from workforce.services.checks import workforce_checks_compute


@tenant_task
def compute_workforce_checks(*, organization_id: int, date: str) -> dict:
    organization = Organization.objects.get(pk=organization_id)
    run = workforce_checks_compute(organization=organization, date=date_type.fromisoformat(date))
    return {"run": run.pk, "date": date, "failing": run.failing}


def workforce_checks_enqueue(*, organization: Organization, date: date_type) -> bool:
    """Queues the day's checks (see ``enqueue``: True when they have already run here). Raises
    ``QueueUnavailable`` when the broker cannot be reached."""
    return enqueue(compute_workforce_checks, organization_id=organization.pk, date=date.isoformat())


@shared_task
def compute_due_workforce_checks() -> list[str]:
    """On the exception engine's beat cadence (every 15 minutes): each organisation whose local
    day has ended gets yesterday's workforce checks queued, once."""
    return yesterday_enqueue_where_due(
        model=WorkforceCheckRun,
        mark_prefix="workforce:checks-queued",
        enqueue=workforce_checks_enqueue,
    )
