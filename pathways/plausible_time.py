"""The window of plausible times for anything a partner dates (a referral, an event).

A year typo (``0206-11-02``) is a real partner's input, not an attack: refused at the API, and
skipped with a report wherever a row outside the window was stored before the check existed, so
one row never stops an organisation's computation. The window is in ``../shared/API.md``.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

EARLIEST_PLAUSIBLE = datetime(1900, 1, 1, tzinfo=UTC)
# Partners' clocks drift; a time stamped a little ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=5)


def latest_plausible(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + CLOCK_SKEW


def is_plausible(value: datetime, *, now: datetime | None = None) -> bool:
    return EARLIEST_PLAUSIBLE <= value <= latest_plausible(now)


def plausible(field_name: str, *, until: datetime) -> Q:
    """Rows whose ``field_name`` lies in the window, read up to ``until`` (at most
    ``latest_plausible``; a cutoff before it for a computation at a past instant)."""
    return Q(**{f"{field_name}__gte": EARLIEST_PLAUSIBLE, f"{field_name}__lte": until})
