"""The shared calendar arithmetic: whole months and organisation-local windows in UTC."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from scaling_ops.dates import add_months, local_midnight, local_window, month_add

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 15), -3, date(2025, 12, 15)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
        (date(2026, 5, 31), -15, date(2025, 2, 28)),
    ],
)
def test_add_months_keeps_the_day_inside_the_month_it_lands_in(day, months, expected):
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("month", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),
        (date(2026, 11, 20), 14, date(2028, 1, 1)),
    ],
)
def test_month_add_lands_on_the_first_of_the_month(month, months, expected):
    assert month_add(month, months) == expected


def test_a_local_window_over_the_spring_clock_change_is_23_hours():
    start, end = local_window(zone=LONDON, start=date(2026, 3, 29), end=date(2026, 3, 30))
    assert start == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)


def test_a_local_midnight_is_in_the_zone():
    midnight = local_midnight(date(2026, 7, 1), LONDON)
    assert midnight.astimezone(UTC) == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
