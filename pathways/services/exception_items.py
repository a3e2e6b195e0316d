"""The daily report's writes for one chunk of cases (DESIGN.md section 3): the engine's result
persisted set-based. Exception items are upserted by their natural key (case, obligation)
without touching their triage state; figures and closings are one parameterised UPDATE per item,
sent in pages; history rows are written by INSERT ... SELECT from the items as they stand; new
items and the day's report lines are added by COPY on PostgreSQL (``_insert``).
``pathways.services.exceptions`` decides which cases a day reads and calls ``chunk_persist``
for each chunk."""

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property

import pandas as pd
from django.db import connection
from django.db.models import Case as SqlCase
from django.db.models import CharField, DateTimeField, F, Field, Model, Q, Value, When
from django.utils import timezone

from pathways import engine
from pathways.definitions import PathwayDefinition
from pathways.models import (
    ExceptionItem,
    ExceptionKind,
    ExceptionReport,
    ExceptionReportLine,
)
from pathways.selectors.obligations import (
    case_frames,
    engine_data,
    id_among,
)
from pathways.services.copy_text import copy_escaped
from pathways.triage import OPEN_STATUSES

BATCH_SIZE = 1000
# Field types whose Python values the database drivers take as they are.
PLAIN_FIELDS = {
    "AutoField",
    "BigAutoField",
    "BigIntegerField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "TextField",
}
# Kinds that stand until something arrives: they close automatically when it does.
UNMET_KINDS = (
    ExceptionKind.OVERDUE_STEP,
    ExceptionKind.MISSED_ESCALATION,
    ExceptionKind.MISSED_SAFEGUARDING,
)
# Standing conditions: gone from the report when they no longer stand, and then closed.
STANDING_KINDS = {
    ExceptionKind.INCOMPLETE_ASSESSMENT: "A complete assessment was recorded",
    ExceptionKind.TIER_DISAGREEMENT: "The partner's tier and the risk tool's tier agree, or a "
    "newer assessment was scored",
}
FIGURE_FIELDS = ["kind", "anchor_at", "due_at", "completed_at", "last_reported_on", "updated_at"]
CLOSING_FIELDS = [*FIGURE_FIELDS, "status", "note", "closed_automatically"]


@dataclass
class ReportRun:
    """One report's computation: what every chunk's persistence reads."""

    organization_id: int
    date: date
    day_start: pd.Timestamp
    day_end: pd.Timestamp
    zone: object
    now: datetime
    definitions: dict[int, PathwayDefinition]
    report: ExceptionReport | None = None

    @cached_property
    def data_of(self) -> Q:
        return engine_data(self.definitions)


def _when(value) -> datetime | None:
    """A pandas timestamp as the aware datetime the database stores (microseconds)."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).floor("us").to_pydatetime()


def _whens(column: pd.Series) -> list[datetime | None]:
    """``_when`` of a whole column in one vector step (a conversion per row was a tenth of a
    full evaluation)."""
    values = pd.to_datetime(column, utc=True).dt.floor("us").dt.to_pydatetime()
    return [None if value is pd.NaT else value for value in values]


def chunk_evaluate(run: ReportRun, case_rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's report and obligations of these cases (rows of ``case_chunks``): their events
    read and the engine run, nothing written (a worker process may run it:
    ``pathways.parallel_chunks``)."""
    cases, events = case_frames(
        case_rows, cutoff=run.day_end.to_pydatetime(), now=run.now, data_of=run.data_of
    )
    return engine.daily_report_and_obligations(
        cases, events, run.definitions, run.day_start, run.day_end
    )


def chunk_persist(
    run: ReportRun, case_rows: list[tuple], evaluated: tuple[pd.DataFrame, pd.DataFrame]
) -> int:
    """Writes the chunk's report as ``chunk_evaluate`` gave it; returns the items it raised
    for the first time."""
    report, obligations = evaluated
    site_of = {row[0]: row[4] for row in case_rows}
    existing = {
        (item.case_id, item.obligation_key): item
        # The chunk's case ids as one array parameter on PostgreSQL: Django resolves an IN
        # list's thousands of placeholders one by one, longer than the query takes.
        for item in ExceptionItem.objects.filter(id_among(ExceptionItem, "case_id", list(site_of)))
    }
    new_items: list[_NewItem] = []
    refreshed: list[ExceptionItem] = []  # figures changed, triage state kept
    closing: list[ExceptionItem] = []  # figures changed and closed automatically
    backdated: list[int] = []  # first reported earlier than we knew
    lines: list[tuple[ExceptionItem | _NewItem, str, datetime | None, datetime | None, datetime]]
    lines = []
    reported = set()
    times = zip(
        _whens(report["anchor_at"]),
        _whens(report["due_at"]),
        _whens(report["completed_at"]),
        strict=True,
    )
    # Only the columns read here: itertuples would build a Timestamp of each time too.
    for row, (anchor_at, due_at, completed_at) in zip(
        report[["case_id", "obligation_key", "kind", "step"]].itertuples(index=False),
        times,
        strict=True,
    ):
        key = (int(row.case_id), row.obligation_key)
        reported.add(key)
        figures = {
            "kind": row.kind,
            "anchor_at": anchor_at,
            "due_at": due_at,
            "completed_at": completed_at,
        }
        item = existing.get(key)
        if item is None:
            item = _NewItem(key[0], row.obligation_key, site_of[key[0]], row.step, figures)
            new_items.append(item)
        else:
            if run.date < item.first_reported_on:
                backdated.append(item.pk)
            # An older day recomputed after a newer one adds its line but never rolls the
            # item's figures back.
            if run.date >= item.last_reported_on:
                _refresh(run, item, figures, refreshed, closing)
        lines.append(
            (item, row.kind, figures["due_at"], figures["completed_at"], figures["anchor_at"])
        )

    stale = [
        item
        for key, item in existing.items()
        if key not in reported
        and item.status in OPEN_STATUSES
        and item.last_reported_on <= run.date
        and item.kind in (*UNMET_KINDS, *STANDING_KINDS)
    ]
    if stale:
        closing.extend(_close_stale(run, stale, obligations))

    _write(run, new_items, refreshed, closing, backdated)
    # The lines as columns, not a model instance each (building those was a tenth of a full
    # evaluation); every column is named, so a new field of the model fails here loudly.
    items = [line[0] for line in lines]
    _insert_columns(
        ExceptionReportLine,
        {
            "organization_id": [run.organization_id] * len(lines),
            "report_id": [run.report.pk] * len(lines),
            "item_id": [item.pk for item in items],
            "kind": [line[1] for line in lines],
            "due_at": [line[2] for line in lines],
            "completed_at": [line[3] for line in lines],
            "site_id": [item.site_id for item in items],
            "step": [item.step for item in items],
            "since": [due_at or anchor_at for _, _, due_at, _, anchor_at in lines],
        },
    )
    return len(new_items)


@dataclass(slots=True)
class _NewItem:
    """An item the report raises for the first time: what its row is written from (a model
    instance each cost a tenth of a full evaluation), and its id once written."""

    case_id: int
    obligation_key: str
    site_id: int
    step: str
    figures: dict
    pk: int | None = None


def _insert_new_items(run: ReportRun, items: list[_NewItem]) -> None:
    """INSERTs the new items (the model's defaults for the triage fields) and sets their ids."""
    columns = {
        "organization_id": [run.organization_id] * len(items),
        "case_id": [item.case_id for item in items],
        "obligation_key": [item.obligation_key for item in items],
        "site_id": [item.site_id for item in items],
        "step": [item.step for item in items],
        "first_reported_on": [run.date] * len(items),
        "last_reported_on": [run.date] * len(items),
    }
    for name in ("kind", "anchor_at", "due_at", "completed_at"):
        columns[name] = [item.figures[name] for item in items]
    for item, pk in zip(
        items, _insert_columns(ExceptionItem, columns, returning_pk=True), strict=True
    ):
        item.pk = pk


def _refresh(run, item, figures, refreshed, closing) -> None:
    """New figures (kept triage state) or an automatic close; an unchanged item only has its
    last_reported_on moved on, for the whole report at once (``_mark_reported``)."""
    was_unmet = item.kind in UNMET_KINDS and item.completed_at is None
    if all(getattr(item, name) == value for name, value in figures.items()):
        return
    for name, value in figures.items():
        setattr(item, name, value)
    item.last_reported_on = run.date
    item.updated_at = run.now
    if was_unmet and item.completed_at is not None and item.status in OPEN_STATUSES:
        _close(run, item, f"Completed late at {_local(run, item.completed_at)}")
        closing.append(item)
    else:
        item._change_reason = f"Exception report for {run.date}: {item.get_kind_display()}"
        refreshed.append(item)


def _close(run: ReportRun, item: ExceptionItem, what: str) -> None:
    item.status = ExceptionItem.Status.RESOLVED
    item.closed_automatically = True
    item.note = f"{what}; closed automatically."
    item.updated_at = run.now
    item._change_reason = item.note


def _local(run: ReportRun, value: datetime) -> str:
    return timezone.localtime(value, run.zone).strftime("%Y-%m-%d %H:%M %Z")


def _close_stale(run: ReportRun, stale: list[ExceptionItem], obligations) -> list[ExceptionItem]:
    """Open items missing from the day's report: an incomplete assessment whose complete one has
    arrived, or an overdue obligation completed (late) or voided by a closure at an earlier time
    than the day, which only arrived now. Anything else (the standard no longer applies after a
    late tier change, say) is left for a person to triage. ``obligations``: the chunk's, at the
    cutoff."""
    closed = []
    unmet = {item.case_id for item in stale if item.kind in UNMET_KINDS}
    status = {
        (int(row.case_id), row.obligation_key): row
        for row in obligations[obligations["case_id"].isin(unmet)].itertuples(index=False)
    }
    for item in stale:
        if item.kind in STANDING_KINDS:
            _close(run, item, STANDING_KINDS[item.kind])
            closed.append(item)
            continue
        obligation = status.get((item.case_id, item.obligation_key))
        if obligation is None:
            continue
        if obligation.status in ("late", "met"):
            item.completed_at = _when(obligation.completed_at)
            if item.kind == ExceptionKind.OVERDUE_STEP:
                item.kind = ExceptionKind.LATE_STEP
            _close(run, item, f"Completed late at {_local(run, item.completed_at)}")
            closed.append(item)
        elif obligation.status == "void":
            _close(run, item, "The case closed before this was due")
            closed.append(item)
    return closed


def _write(run, new_items, refreshed, closing, backdated) -> None:
    if new_items:
        _insert_new_items(run, new_items)
        _record_history(
            run, new_items, "+", reason=Value(f"Raised by the exception report for {run.date}")
        )
    # Figures only: a supervisor's concurrent triage is never overwritten.
    _update_each(run, refreshed, FIGURE_FIELDS)
    _record_history(run, refreshed, "~", reason=_refresh_reason(run.date))
    # Only items still open are closed: a person's concurrent resolve or accept wins, and
    # then no "closed automatically" history row is written either.
    _update_each(run, closing, CLOSING_FIELDS, only_open=True)
    _record_history(run, closing, "~", reason=F("note"), only=Q(closed_automatically=True))
    for start in range(0, len(backdated), BATCH_SIZE):
        ExceptionItem.objects.filter(pk__in=backdated[start : start + BATCH_SIZE]).update(
            first_reported_on=run.date
        )


def _refresh_reason(day: date) -> SqlCase:
    return SqlCase(
        *[
            When(kind=kind, then=Value(f"Exception report for {day}: {label}"))
            for kind, label in ExceptionKind.choices
        ],
        output_field=CharField(),
    )


def _record_history(
    run: ReportRun, items, history_type: str, *, reason, only: Q | None = None
) -> None:
    """The items' history rows as they now stand in the table, written by INSERT ... SELECT
    (simple_history's bulk_history_create builds a model instance per row: a quarter of a
    millisecond each). ``reason`` is an expression over the item's columns."""
    if not items:
        return
    history = ExceptionItem.history.model
    tracked = [
        field.column
        for field in history._meta.concrete_fields
        if not field.name.startswith("history_")
    ]
    written = [*tracked, "history_date", "history_change_reason", "history_type"]
    columns = ", ".join(connection.ops.quote_name(column) for column in written)
    table = connection.ops.quote_name(history._meta.db_table)
    ids = [item.pk for item in items]
    for start in range(0, len(ids), BATCH_SIZE):
        rows = ExceptionItem.objects.filter(
            id_among(ExceptionItem, "id", ids[start : start + BATCH_SIZE])
        )
        if only is not None:
            rows = rows.filter(only)
        select, params = (
            rows.annotate(
                history_date=Value(run.now, output_field=DateTimeField()),
                history_change_reason=reason,
                history_type=Value(history_type),
            )
            .values_list(*written)
            .order_by()
            .query.sql_with_params()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)  # noqa: S608


def _insert(rows: list[Model], *, returning_pk: bool = False) -> None:
    """INSERTs ``rows`` (new instances of one model), each value adapted by a converter chosen
    once per column: ``bulk_create`` runs a field's whole pre_save and prepare chain per value.
    On PostgreSQL by COPY (about a third of the server's time for a multi-row INSERT of the
    same rows), elsewhere in multi-row INSERTs. ``returning_pk``: the new ids are set on the
    instances."""
    if not rows:
        return
    model = type(rows[0])
    fields = _inserted_fields(model)
    pks = _insert_values(
        model, fields, [_column_values(field, rows) for field in fields], returning_pk
    )
    if returning_pk:
        for row, pk in zip(rows, pks, strict=True):
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias


def _insert_columns(
    model: type[Model], columns: dict[str, list], *, returning_pk: bool = False
) -> list:
    """INSERTs rows given as one list of Python values per field (by attname), as ``_insert``
    would write instances holding them: a field not given takes its default, an auto_now one
    the time now. Returns the new ids if ``returning_pk``."""
    count = len(next(iter(columns.values())))
    if not count:
        return []
    unknown = set(columns) - {field.attname for field in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no field {sorted(unknown)}")
    fields = _inserted_fields(model)
    values = []
    for field in fields:
        if field.attname in columns:
            given = columns[field.attname]
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            given = [timezone.now()] * count
        else:
            given = [field.get_default()] * count
        values.append(_database_values(field, given))
    return _insert_values(model, fields, values, returning_pk)


def _inserted_fields(model: type[Model]) -> list[Field]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _insert_values(
    model: type[Model], fields: list[Field], values: list[list], returning_pk: bool
) -> list:
    """The INSERT itself, of columns of database values; the new ids if ``returning_pk``."""
    pks = []
    if returning_pk and connection.vendor == "postgresql":
        pk = model._meta.pk
        fields, values = [pk, *fields], [_new_ids(model, len(values[0])), *values]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", _copy_text(fields, values))
            if returning_pk:
                pks = values[0]
        else:
            size = min(BATCH_SIZE, connection.ops.bulk_batch_size(fields, values[0]))
            returning = f" RETURNING {quote(model._meta.pk.column)}" if returning_pk else ""
            pks = _insert_rows(cursor, f"{table} ({columns})", values, size, returning)
    return pks


def _new_ids(model: type[Model], count: int) -> list[int]:
    """``count`` ids drawn from the table's own sequence, as an INSERT would draw them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


def _copy_text(fields: list[Field], values: list[list]) -> io.StringIO:
    """Columns of database values as COPY's text format: one line per row, tab-separated,
    ``\\N`` for NULL, text with its backslashes and line breaks escaped."""
    columns = [_copy_column(field, column) for field, column in zip(fields, values, strict=True)]
    return io.StringIO("".join("\t".join(row) + "\n" for row in zip(*columns, strict=True)))


def _copy_column(field: Field, column: list) -> list[str]:
    """A column's values as COPY spells them (``_copy_converter``). A value every row shares
    (the organisation, the day, a default) is spelled once; the others by ``map``, without a
    Python step per value where no value is NULL: half of a chunk's text took these steps."""
    if len(column) > 1 and column.count(column[0]) == len(column):
        return _copy_column(field, column[:1]) * len(column)
    text = _copy_converter(field)
    if None in column:
        return [r"\N" if value is None else text(value) for value in column]
    return list(map(text, column))


def _copy_converter(field: Field) -> Callable[[object], str]:
    """How COPY's text format spells a value of ``field`` (as ``_column_values`` gives it)."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return datetime.isoformat  # with its offset
    if kind in ("CharField", "TextField"):
        return copy_escaped
    if kind == "BooleanField":
        return lambda value: "t" if value else "f"
    if kind in PLAIN_FIELDS or kind == "DateField":  # numbers, ids; a date as ISO text
        return str
    raise TypeError(f"{field} ({kind}): say how COPY spells its values here")


def _insert_rows(cursor, into: str, values: list[list], size: int, returning: str) -> list:
    """INSERTs of ``size`` rows each; what ``returning`` names, in row order (SQLite returns
    rows in that order, as ``bulk_create`` relies on too)."""
    count, width = len(values[0]), len(values)
    placeholders = f"({', '.join(['%s'] * width)})"
    pks = []
    for start in range(0, count, size):
        end = min(start + size, count)
        cursor.execute(
            f"INSERT INTO {into} VALUES "  # noqa: S608
            + ", ".join([placeholders] * (end - start))
            + returning,
            [column[index] for index in range(start, end) for column in values],
        )
        if returning:
            pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


def _column_values(field: Field, rows: list[Model]) -> list:
    """The database values of ``field`` for every row: dates and times by the backend's own
    adapter, plain values (text, numbers, ids, booleans) as they are, anything else (and
    auto_now) by the field."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return [field.get_db_prep_save(field.pre_save(row, add=True), connection) for row in rows]
    return _database_values(field, [getattr(row, field.attname) for row in rows])


def _database_values(field: Field, values: list) -> list:
    """``values`` of ``field`` as the database takes them (see ``_column_values``)."""
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value
    elif kind == "DateField":
        adapt = connection.ops.adapt_datefield_value
    elif kind in PLAIN_FIELDS:
        return values
    else:
        return [field.get_db_prep_save(value, connection) for value in values]
    return [None if value is None else adapt(value) for value in values]


def _update_each(
    run: ReportRun, items: list[ExceptionItem], fields: list[str], only_open=False
) -> None:
    """One parameterised UPDATE per item, sent in batches. (``bulk_update`` builds a CASE
    expression per item and field: about a millisecond of Python per item.)"""
    if not items:
        return
    columns = [ExceptionItem._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    sql = (
        f"UPDATE {quote(ExceptionItem._meta.db_table)} SET {assignments}"  # noqa: S608
        " WHERE id = %s AND organization_id = %s"
    )
    scope = [run.organization_id]
    if only_open:
        sql += f" AND status IN ({', '.join(['%s'] * len(OPEN_STATUSES))})"
        scope += list(OPEN_STATUSES)
    rows = [
        [column.get_db_prep_save(getattr(item, column.attname), connection) for column in columns]
        + [item.pk, *scope]
        for item in items
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_batch

            # Pages of statements per round trip rather than one round trip per item.
            execute_batch(cursor.cursor, sql, rows, page_size=BATCH_SIZE)
        else:
            cursor.executemany(sql, rows)
