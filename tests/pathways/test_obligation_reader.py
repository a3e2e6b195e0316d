"""The engine's input reader: on PostgreSQL a faster reader of the events (one array parameter,
epoch microseconds, bare rows) gives exactly the frame the portable ORM reader gives, in one
query per chunk."""

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from pathways.models import Case, CaseEvent
from pathways.selectors import obligations
from tests.pathways.exception_helpers import DAY, at, build_version, complete, event, make_case

NOW = at(DAY, 12)
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL reader (SQLite reads by the ORM)"
)


@pytest.fixture
def cases(personas, tenant):
    version = build_version()
    first = make_case(version, personas.north, "R-1", at(DAY - timedelta(days=5), 9))
    second = make_case(version, personas.south, "R-2", at(DAY - timedelta(days=4), 9), "high")
    # Microseconds kept; the assessment's data is read, a contact's is not.
    complete(first, "intake", datetime(2026, 2, 26, 10, 15, 30, 123456, tzinfo=UTC))
    complete(first, "assessment", at(DAY - timedelta(days=2), 11), home_risk="low", note="é")
    complete(first, "assessment", at(DAY - timedelta(days=1), 11), complete=False)
    event(first, "risk_tier_changed", at(DAY - timedelta(days=1), 12), tier="high")
    event(second, "contact_missed", at(DAY - timedelta(days=1), 8), reason="no answer")
    event(second, "contact_made", at(DAY, 8))
    # After the cutoff and before the plausible window: neither is read.
    event(second, "contact_made", at(DAY + timedelta(days=1), 8))
    CaseEvent.objects.filter(
        pk=event(second, "contact_made", at(DAY, 9)).pk
    ).update(occurred_at=datetime(1850, 1, 1, tzinfo=UTC))  # fmt: skip
    return [first.pk, second.pk]


def by_event(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("event_pk").reset_index(drop=True)


@needs_postgresql
@pytest.mark.parametrize("all_data", [False, True], ids=["engine's data only", "all data"])
def test_the_postgresql_reader_gives_the_portable_readers_frame(cases, all_data):
    data_of = None if all_data else obligations.engine_data(obligations.engine_definitions())
    cutoff = at(DAY + timedelta(days=1))
    portable = obligations._portable_events(cases, until=cutoff, data_of=data_of)
    fast = obligations._postgresql_events(cases, until=cutoff, data_of=data_of)
    assert len(fast) == 6
    pd.testing.assert_frame_equal(by_event(fast), by_event(portable))
    read = by_event(fast)
    assert read["occurred_at"].iloc[0] == pd.Timestamp("2026-02-26 10:15:30.123456", tz="UTC")
    contact = read[read["type"] == "contact_missed"]["data"].iloc[0]
    assert contact == ({"reason": "no answer"} if all_data else None)
    assert read[read["type"] == "risk_tier_changed"]["data"].iloc[0] == {"tier": "high"}


@needs_postgresql
@pytest.mark.parametrize("odd_step", ["", "x\x1fy"], ids=["plain keys", "a separator in a key"])
def test_the_postgresql_reader_keeps_text_holding_its_separators(cases, odd_step):
    """The reader takes its columns apart at control characters: data holding them comes back
    as stored, and a step key holding one is read row by row instead."""
    case = Case.objects.get(pk=cases[0])
    stored = {"note": "a\x1eb\x1fc\td\n", "tier": "high"}
    event(case, "risk_tier_changed", at(DAY, 10), **stored)
    event(case, "step_completed", at(DAY, 11), step=odd_step)
    data_of = obligations.engine_data(obligations.engine_definitions())
    cutoff = at(DAY + timedelta(days=1))
    portable = obligations._portable_events(cases, until=cutoff, data_of=data_of)
    fast = obligations._postgresql_events(cases, until=cutoff, data_of=data_of)
    pd.testing.assert_frame_equal(by_event(fast), by_event(portable))
    assert by_event(fast)["data"].iloc[-2] == stored
    assert by_event(fast)["step"].iloc[-1] == odd_step


@pytest.mark.parametrize("postgresql", [False, pytest.param(True, marks=needs_postgresql)])
def test_a_reader_reads_only_the_events_asked_for(cases, postgresql):
    read = obligations._postgresql_events if postgresql else obligations._portable_events
    cutoff = at(DAY + timedelta(days=1))
    events = read(cases, until=cutoff, data_of=None, events_of=~Q(type="contact_made"))
    assert len(events) == 5
    assert "contact_made" not in set(events["type"])


@needs_postgresql
def test_the_postgresql_reader_reads_no_event_of_no_case(personas, tenant):
    empty = obligations._postgresql_events([], until=NOW, data_of=None)
    assert list(empty.columns) == ["event_pk", "case_id", "type", "step", "occurred_at", "data"]
    assert empty.empty


def test_a_chunks_frames_are_one_query_for_its_events(cases):
    rows = list(obligations.plausible_cases(cutoff=NOW, now=NOW).values_list(*obligations.CASE_ROW))
    with CaptureQueriesContext(connection) as queries:
        frames, events = obligations.case_frames(rows, cutoff=at(DAY + timedelta(days=1)), now=NOW)
    assert len(queries) == 1
    assert sorted(frames["case_id"]) == sorted(cases)
    assert len(events) == 6  # not the contact after the cutoff, nor the one in 1850
    assert events["step"].isna().sum() == 3


@pytest.mark.parametrize(
    "picked", [[], [0], [0, 1], [0, 2], [1, 2]], ids=["none", "one", "a range", "gapped", "last"]
)
def test_id_among_selects_exactly_the_ids_given(cases, personas, picked):
    """On PostgreSQL the ids as an array beside their range, elsewhere an IN list: the same
    rows either way."""
    from pathways.models import Case

    third = make_case(Case.objects.get(pk=cases[0]).version, personas.north, "R-3", NOW)
    ids = [*cases, third.pk]
    chosen = [ids[index] for index in picked]
    found = Case.objects.filter(obligations.id_among(Case, "id", chosen))
    assert sorted(found.values_list("pk", flat=True)) == sorted(chosen)
    # Ids filling their range read as the range alone; any others also name each id.
    filling = bool(chosen) and sorted(chosen) == list(range(min(chosen), max(chosen) + 1))
    if connection.vendor == "postgresql":
        assert ("ANY" not in str(found.query)) == filling


@needs_postgresql
def test_id_among_reads_ids_given_twice_once(cases):
    from pathways.models import Case

    found = Case.objects.filter(obligations.id_among(Case, "id", [cases[1], cases[0], cases[1]]))
    assert sorted(found.values_list("pk", flat=True)) == sorted(cases)
