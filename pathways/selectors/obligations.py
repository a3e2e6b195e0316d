"""The engine's input: the one reader of cases, their events and the pathway definitions for
every computation of obligations (the daily report, the monthly snapshot, the case page).

Only rows dated inside the plausible window (``pathways.plausible_time``) are read, and the
filter is in SQL: a year typo stored before the API refused it (an event in 0206, a referral in
year 1, a BC date PostgreSQL holds but Python cannot) cannot be held by pandas, and one such row
would otherwise stop its whole organisation's computations. What is left out is counted
(``implausible_counts``) so that each computation can say so, and listed and repaired by
``manage.py repair_implausible_times``."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    F,
    Func,
    JSONField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models import Case as SqlCase
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from pathways import engine
from pathways.definitions import PathwayDefinition
from pathways.models import Case, CaseEvent, EventType, PathwayVersion
from pathways.plausible_time import latest_plausible, plausible
from pathways.selectors.versions import pathway_version_definitions

# The engine's case columns (engine.CASE_COLUMNS) first, then the site.
CASE_ROW = ("id", "version_id", "referral_at", "risk_tier", "site_id")


def engine_definitions() -> dict[int, PathwayDefinition]:
    """The definitions of the bound organisation's versions that cases can follow."""
    return pathway_version_definitions(
        list(
            PathwayVersion.objects.exclude(status=PathwayVersion.Status.DRAFT).values_list(
                "pk", flat=True
            )
        )
    )


def engine_data(definitions: dict[int, PathwayDefinition]) -> Q:
    """The events whose ``data`` the engine reads: completions of assessment steps (their
    fields) and tier changes. Leaving the rest unparsed saves a good part of the reading."""
    return Q(type=EventType.RISK_TIER_CHANGED) | assessment_completions(definitions)


def assessment_completions(definitions: dict[int, PathwayDefinition]) -> Q:
    """The events that complete an assessment step of any of ``definitions``."""
    assessments = {
        step.key
        for definition in definitions.values()
        for step in definition.steps
        if step.kind == "assessment"
    }
    return Q(type=EventType.STEP_COMPLETED, step_key__in=sorted(assessments))


def readable_until(*, cutoff: datetime, now: datetime) -> datetime:
    """The last instant a computation at ``cutoff`` reads: a row dated after ``now`` (plus
    the clock skew allowed) cannot have happened yet, even on a day that has not ended."""
    return min(cutoff, latest_plausible(now))


def plausible_cases(*, cutoff: datetime, now: datetime) -> QuerySet[Case]:
    """The cases referred by ``cutoff`` whose referral lies inside the plausible window."""
    return Case.objects.filter(
        plausible("referral_at", until=readable_until(cutoff=cutoff, now=now))
    )


def plausible_referral(cases: QuerySet[Case], *, now: datetime) -> QuerySet[Case]:
    """``cases`` with the referral read only where it is plausible, as ``plausible_referral_at``
    (None otherwise): the stored value may be one Python cannot even hold (a BC date on
    PostgreSQL), so ``referral_at`` itself is never loaded."""
    return cases.defer("referral_at").annotate(
        plausible_referral_at=SqlCase(
            When(plausible("referral_at", until=latest_plausible(now)), then=F("referral_at")),
            default=Value(None),
            output_field=DateTimeField(),
        )
    )


def case_chunks(
    cases: QuerySet[Case],
    *,
    chunk_size: int,
    fields: tuple[str, ...] = CASE_ROW,
    case_ids: list[int] | None = None,
) -> Iterator[list[tuple]]:
    """``cases`` as ``values_list(*fields)`` (``id`` first) in chunks of one bounded query
    each: keyset pagination over them all, or slices of ``case_ids`` if given."""
    rows = cases.order_by("id").values_list(*fields)
    if case_ids is not None:
        for start in range(0, len(case_ids), chunk_size):
            chunk = list(rows.filter(id_among(Case, "id", case_ids[start : start + chunk_size])))
            if chunk:
                yield chunk
        return
    last_id = 0
    while chunk := list(rows.filter(id__gt=last_id)[:chunk_size]):
        yield chunk
        last_id = chunk[-1][0]


def id_among(model, column: str, ids: list[int]) -> Q | RawSQL:
    """``column`` among ``ids``: on PostgreSQL as one array parameter, since Django resolves the
    thousands of placeholders of an ``IN`` list one by one (longer than the query takes).

    The ids' range is stated beside the array. The planner cannot see that a chunk's ids are
    consecutive (a full report's chunks are ranges of case ids), so it costs ``= ANY`` over
    them like ids scattered across the table and, at 250,000 cases, reads all the events by a
    parallel sequential scan, four times the index's time. With the range it walks the index.
    Ids that are every integer of their range (a full report's chunk where no case is missing,
    the ids a report just drew for its new items) are the range alone: one walk of the index
    from its first entry, where the array probed it once per id (a 5,000-case chunk's events
    read in 9 ms instead of 16-25, its items in 1 ms instead of 3-15)."""
    if connection.vendor != "postgresql":
        return Q(**{f"{column}__in": ids})
    quote = connection.ops.quote_name
    column = f"{quote(model._meta.db_table)}.{quote(column)}"
    first, last = min(ids, default=None), max(ids, default=None)
    if ids and last - first + 1 == len(set(ids)):
        return RawSQL(f"{column} BETWEEN %s AND %s", (first, last), output_field=BooleanField())
    return RawSQL(  # no ids: an empty array and a range of NULLs, so no row
        f"({column} = ANY(%s) AND {column} BETWEEN %s AND %s)",
        (ids, first, last),
        output_field=BooleanField(),
    )


def case_frames(
    case_rows: list[tuple],
    *,
    cutoff: datetime,
    now: datetime,
    data_of: Q | None = None,
    events_of: Q | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The engine's input frames for these cases (rows of ``case_chunks``, CASE_ROW's first
    four columns first) and their events dated inside the plausible window up to ``cutoff``:
    one query for the events. ``data`` is read for the events matching ``data_of`` only (None
    for the others), for all if None; only the events matching ``events_of`` are read, all if
    None."""
    cases = pd.DataFrame([row[:4] for row in case_rows], columns=engine.CASE_COLUMNS)
    cases["referral_at"] = pd.to_datetime(cases["referral_at"], utc=True)
    until = readable_until(cutoff=cutoff, now=now)
    case_ids = [row[0] for row in case_rows]
    read = _postgresql_events if connection.vendor == "postgresql" else _portable_events
    events = read(case_ids, until=until, data_of=data_of, events_of=events_of)
    events["step"] = events["step"].where(events["step"] != "", None)
    return cases, events


def _portable_events(
    case_ids: list[int], *, until: datetime, data_of: Q | None, events_of: Q | None = None
) -> pd.DataFrame:
    payload = F("data")
    if data_of is not None:
        payload = SqlCase(
            When(data_of, then=F("data")), default=Value(None), output_field=JSONField()
        )
    event_rows = (
        CaseEvent.objects.filter(
            events_of or Q(), plausible("occurred_at", until=until), case_id__in=case_ids
        )
        .annotate(payload=payload)
        .values_list("id", "case_id", "type", "step_key", "occurred_at", "payload")
    )
    events = pd.DataFrame(list(event_rows), columns=engine.EVENT_COLUMNS)
    events["occurred_at"] = pd.to_datetime(events["occurred_at"], utc=True)
    return events


class _EpochMicroseconds(Func):
    """A timestamp as whole microseconds since the epoch (PostgreSQL's own precision): a
    bigint the driver hands over as an int, converted to pandas times in one vector step."""

    template = "(extract(epoch from %(expressions)s) * 1000000)::bigint"
    output_field = BigIntegerField()


def _postgresql_events(
    case_ids: list[int], *, until: datetime, data_of: Q | None, events_of: Q | None = None
) -> pd.DataFrame:
    """The events of ``case_ids`` on PostgreSQL, the same frame as the portable reader gives,
    read several times faster: the case ids as one array parameter (``id_among``), times as
    epoch microseconds, ``data`` only for the rows ``data_of`` names, and the rows sent as one
    row of six columns (``_EVENT_COLUMNS_SQL``) that numpy and ``str.split`` take apart in C.
    Row by row, the driver built a Python object per value: two thirds of the read's time
    (about 40 ms of a 5,000-case chunk's 60)."""
    payload = Cast("data", TextField())
    if data_of is not None:
        payload = SqlCase(
            When(data_of, then=payload), default=Value(None), output_field=TextField()
        )
    query = (
        CaseEvent.objects.filter(
            events_of or Q(),
            plausible("occurred_at", until=until),
            id_among(CaseEvent, "case_id", case_ids),
        )
        .annotate(payload=payload, occurred_us=_EpochMicroseconds("occurred_at"))
        .values_list("id", "case_id", "type", "step_key", "occurred_us", "payload")
        .order_by()
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_EVENT_COLUMNS_SQL.format(rows=sql), params)
        columns = cursor.fetchone()
    columns = _split_columns(*columns)
    if columns is None:  # a separator inside a step key: read row by row instead
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        columns = [list(map(itemgetter(index), rows)) for index in range(6)]
    pks, case_ids, types, steps, times, payloads = columns
    return pd.DataFrame(
        {
            "event_pk": np.asarray(pks, dtype=np.int64),
            "case_id": np.asarray(case_ids, dtype=np.int64),
            "type": pd.Series(types),
            "step": pd.Series(steps),
            "occurred_at": pd.to_datetime(np.asarray(times, dtype=np.int64), unit="us", utc=True),
            "data": _parsed(payloads),
        },
        columns=engine.EVENT_COLUMNS,
    )


# All aggregates of one query read its rows in the same order, so the columns line up. Text
# goes between separators no value holds: the unit separator between event types and step keys
# (checked, since a key is a partner's text), the record separator between JSON texts (a JSON
# text escapes every control character) with the empty text for no data (a JSON text is never
# empty). No rows: every aggregate is NULL and the count 0.
_EVENT_COLUMNS_SQL = (
    "SELECT count(*), array_agg(id)::text, array_agg(case_id)::text,"
    " string_agg(type, E'\\x1f'), string_agg(step_key, E'\\x1f'),"
    " array_agg(occurred_us)::text, string_agg(coalesce(payload, ''), E'\\x1e')"
    " FROM ({rows}) AS event"
)


def _split_columns(count, pks, case_ids, types, steps, times, payloads) -> list[list] | None:
    """``_EVENT_COLUMNS_SQL``'s row as six columns, or None if a step key held a separator."""
    if not count:
        return [[], [], [], [], [], []]
    types, steps = types.split("\x1f"), steps.split("\x1f")
    if len(steps) != count:
        return None
    return [
        _integers(pks),
        _integers(case_ids),
        types,
        steps,
        _integers(times),
        [text or None for text in payloads.split("\x1e")],
    ]


def _integers(array_text: str) -> np.ndarray:
    """PostgreSQL's text of an integer array, ``{1,2,3}``, parsed by numpy."""
    return np.fromstring(array_text[1:-1], dtype=np.int64, sep=",")


def _parsed(payloads: list[str | None]) -> pd.Series:
    """The JSON texts as objects (None stays None), parsed as one array: a ``json.loads`` per
    text spent as long in the call as in the parsing."""
    present = [index for index, text in enumerate(payloads) if text is not None]
    values = [None] * len(payloads)
    parsed = json.loads("[" + ",".join(payloads[index] for index in present) + "]")
    for index, value in zip(present, parsed, strict=True):
        values[index] = value
    return pd.Series(values, dtype=object)


def case_input(
    *, case: Case, at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame, dict[int, PathwayDefinition]] | None:
    """One case's engine input at ``at`` (the case page): its frames and its version's
    definition, or None when its referral lies outside the plausible window."""
    rows = list(plausible_cases(cutoff=at, now=at).filter(pk=case.pk).values_list(*CASE_ROW))
    if not rows:
        return None
    cases, events = case_frames(rows, cutoff=at, now=at)
    return cases, events, pathway_version_definitions([case.version_id])


def _outside(field_name: str, now: datetime) -> Q:
    return ~plausible(field_name, until=latest_plausible(now))


@dataclass(frozen=True)
class ImplausibleCounts:
    """Rows every computation leaves out, per site id."""

    cases: dict[int, int] = field(default_factory=dict)
    events: dict[int, int] = field(default_factory=dict)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    @property
    def total_events(self) -> int:
        return sum(self.events.values())


def implausible_counts(*, now: datetime) -> ImplausibleCounts:
    """The bound organisation's cases and events dated outside the plausible window, per site:
    two grouped counts."""
    return ImplausibleCounts(
        cases=dict(
            Case.objects.filter(_outside("referral_at", now))
            .values("site_id")
            .annotate(count=Count("pk"))
            .values_list("site_id", "count")
        ),
        events=dict(
            CaseEvent.objects.filter(_outside("occurred_at", now))
            .values("case__site_id")
            .annotate(count=Count("pk"))
            .values_list("case__site_id", "count")
        ),
    )


def implausible_cases(
    *, now: datetime, case_id: int | None = None, lock: bool = False
) -> list[dict]:
    """The cases whose referral lies outside the window, in users' words: reference, site, the
    stored value as the database holds it (as text: a BC date has no Python datetime) and when
    the platform received the case. ``lock``: for update, inside the caller's transaction."""
    rows = Case.objects.filter(_outside("referral_at", now))
    if case_id is not None:
        rows = rows.filter(pk=case_id)
    if lock:
        rows = rows.select_for_update(of=("self",))
    return list(
        rows.order_by("site__name", "external_ref").values(
            "pk",
            "external_ref",
            "created_at",
            site_name=F("site__name"),
            stored=Cast("referral_at", CharField()),
        )
    )


def implausible_events(
    *, now: datetime, case_id: int | None = None, lock: bool = False
) -> list[dict]:
    """The events dated outside the window, in users' words: the partner's event id, what it
    recorded, its case and site, and the stored value as text."""
    rows = CaseEvent.objects.filter(_outside("occurred_at", now))
    if case_id is not None:
        rows = rows.filter(case_id=case_id)
    if lock:
        rows = rows.select_for_update(of=("self",))
    events = list(
        rows.order_by("case__site__name", "case__external_ref", "event_id").values(
            "pk",
            "event_id",
            "type",
            "step_key",
            case_ref=F("case__external_ref"),
            site_name=F("case__site__name"),
            stored=Cast("occurred_at", CharField()),
        )
    )
    for event in events:
        event["what"] = EventType(event["type"]).label
    return events
