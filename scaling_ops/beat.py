"""Helpers of the beat tasks that queue per-organisation work once it falls due."""

from collections.abc import Callable
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from scaling_ops.models import Organization

# How long a queued day suppresses another enqueue of the same (organisation, date) by the beat
# task: longer than a day's computation takes, shorter than a day.
QUEUED_MARK_SECONDS = 2 * 60 * 60


def yesterday_enqueue_where_due(
    *, model, mark_prefix: str, enqueue: Callable[..., None]
) -> list[str]:
    """Each organisation whose local date has moved past the newest ``model.date`` it has gets
    yesterday queued by ``enqueue(organization=..., date=...)``, once; returns what was queued
    as ``"<slug> <date>"``. ``model`` is a tenant model with a ``date`` and an unscoped manager."""
    last = dict(
        model.dangerously_unscoped.values("organization_id")
        .annotate(last=Max("date"))
        .values_list("organization_id", "last")
    )
    queued = []
    now = timezone.now()
    for organization in Organization.objects.all():
        yesterday: date = timezone.localdate(now, organization.zone) - timedelta(days=1)
        if last.get(organization.pk) is not None and last[organization.pk] >= yesterday:
            continue
        mark = f"{mark_prefix}:{organization.pk}:{yesterday.isoformat()}"
        if not cache.add(mark, 1, timeout=QUEUED_MARK_SECONDS):
            continue
        try:
            enqueue(organization=organization, date=yesterday)
        except Exception:
            cache.delete(mark)  # not queued: the next beat tick may try again
            raise
        queued.append(f"{organization.slug} {yesterday.isoformat()}")
    return queued
