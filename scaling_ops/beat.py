"""Helpers of the beat tasks that queue per-organisation work once it falls due."""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from scaling_ops.models import Organization

# How long a queued day suppresses another enqueue of the same (organisation, date) by the beat
# task: longer than a day's computation takes, shorter than a day.
QUEUED_MARK_SECONDS = 2 * 60 * 60


def enqueue_where_due(
    *,
    due: Callable[[Organization, datetime], date | None],
    mark_prefix: str,
    enqueue: Callable[..., object],
    label: Callable[[date], str] = date.isoformat,
    mark_seconds: int = QUEUED_MARK_SECONDS,
) -> list[str]:
    """For each organisation, ``due(organization, now)`` names the period (a date) that has
    fallen due, or None; each due period is queued by ``enqueue(organization=..., period)``
    once while its mark lasts (so the beat ticks between queueing and finishing queue nothing
    twice). Returns what was queued as ``"<slug> <label(period)>"``."""
    queued = []
    now = timezone.now()
    for organization in Organization.objects.all():
        period = due(organization, now)
        if period is None:
            continue
        mark = f"{mark_prefix}:{organization.pk}:{label(period)}"
        if not cache.add(mark, 1, timeout=mark_seconds):
            continue
        try:
            enqueue(organization, period)
        except Exception:
            cache.delete(mark)  # not queued: the next beat tick may try again
            raise
        queued.append(f"{organization.slug} {label(period)}")
    return queued


def yesterday_enqueue_where_due(
    *, model, mark_prefix: str, enqueue: Callable[..., object]
) -> list[str]:
    """Each organisation whose local date has moved past the newest ``model.date`` it has gets
    yesterday queued by ``enqueue(organization=..., date=...)``, once; returns what was queued
    as ``"<slug> <date>"``. ``model`` is a tenant model with a ``date`` and an unscoped manager."""
    last = dict(
        model.dangerously_unscoped.values("organization_id")
        .annotate(last=Max("date"))
        .values_list("organization_id", "last")
    )

    def due(organization: Organization, now: datetime) -> date | None:
        yesterday = timezone.localdate(now, organization.zone) - timedelta(days=1)
        done = last.get(organization.pk) is not None and last[organization.pk] >= yesterday
        return None if done else yesterday

    return enqueue_where_due(
        due=due,
        mark_prefix=mark_prefix,
        enqueue=lambda organization, day: enqueue(organization=organization, date=day),
    )
