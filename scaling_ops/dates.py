"""Calendar arithmetic every app shares: whole months, and the organisation-local days and
months turned into the UTC instants that rows are stored and filtered by."""

import calendar
from datetime import UTC, date, datetime, time


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept inside the month it lands in (31 Jan + 1 -> 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def month_add(month: date, months: int) -> date:
    """The first day of the month ``months`` after ``month``'s (negative: before)."""
    return add_months(month.replace(day=1), months)


def local_midnight(day: date, zone) -> datetime:
    """The start of ``day`` in ``zone`` (aware)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def local_window(*, zone, start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) from midnight to midnight in ``zone``, in UTC: a clock change inside the
    window makes it an hour shorter or longer, as the people there lived it."""
    return local_midnight(start, zone).astimezone(UTC), local_midnight(end, zone).astimezone(UTC)
