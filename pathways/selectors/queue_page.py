"""One page of the supervisor queue: one SQL statement written here, not built by the ORM on
each request.

Issue 20: building and compiling the page's queryset (tenant filter, the filters, the page mark
and three joins) took about 1 ms of CPU a page, more than running it. The statement is the one
the ORM wrote for ``exception_queue_lines`` with the page's columns (same joins, filters and
order, so the same plan on the ``report_line_queue_order`` index); the tests compare its rows
with the ORM's for every filter and paging direction, on SQLite and PostgreSQL alike. Values are
converted as the ORM converts them (nothing to do on PostgreSQL; datetimes made aware and
booleans made bools on SQLite)."""

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from django.db import connection

from pathways.models import Case, ExceptionItem, ExceptionReportLine
from pathways.selectors.exceptions import AGE_BUCKETS, PAGE_SIZE, QUEUE_ORDER
from scaling_ops import tenancy
from scaling_ops.dates import local_midnight
from scaling_ops.models import Site


@dataclass
class QueuePage:
    rows: list
    has_next: bool
    has_previous: bool

    @property
    def first_id(self):
        return self.rows[0].pk if self.rows else None

    @property
    def last_id(self):
        return self.rows[-1].pk if self.rows else None


class QueueCase:
    __slots__ = ("external_ref",)

    def __init__(self, external_ref: str):
        self.external_ref = external_ref


class QueueItem:
    """The fields of an exception item a queue row shows."""

    __slots__ = ("pk", "status", "assignee_name", "closed_automatically", "step", "case")

    def __init__(self, pk, status, assignee_name, closed_automatically, step, external_ref):
        self.pk = pk
        self.status = status
        self.assignee_name = assignee_name
        self.closed_automatically = closed_automatically
        self.step = step
        self.case = QueueCase(external_ref)


class QueueLine:
    """A queue row read as plain values (no model instances: 50 lines with their items and
    cases cost more to build than to read). The view adds ``age_days``, ``step_name`` and
    ``site_name``."""

    __slots__ = (
        "pk",
        "kind",
        "due_at",
        "completed_at",
        "since",
        "report_id",
        "site_id",
        "item",
        "age_days",
        "step_name",
        "site_name",
    )

    def __init__(self, row):
        (
            self.pk,
            self.kind,
            self.due_at,
            self.completed_at,
            self.since,
            self.report_id,
            self.site_id,
        ) = row[:7]
        self.item = QueueItem(*row[7:])


# A row's columns, in QueueLine's order: (model, field, table alias).
_COLUMNS = (
    (ExceptionReportLine, "id", "line"),
    (ExceptionReportLine, "kind", "line"),
    (ExceptionReportLine, "due_at", "line"),
    (ExceptionReportLine, "completed_at", "line"),
    (ExceptionReportLine, "since", "line"),
    (ExceptionReportLine, "report", "line"),
    (ExceptionReportLine, "site", "line"),
    (ExceptionReportLine, "item", "line"),
    (ExceptionItem, "status", "item"),
    (ExceptionItem, "assignee_name", "item"),
    (ExceptionItem, "closed_automatically", "item"),
    (ExceptionItem, "step", "item"),
    (Case, "external_ref", "c"),
)


@cache
def _select() -> str:
    columns = ", ".join(
        f'{alias}."{model._meta.get_field(name).column}"' for model, name, alias in _COLUMNS
    )
    return (
        f'SELECT {columns} FROM "{ExceptionReportLine._meta.db_table}" line'
        f' INNER JOIN "{ExceptionItem._meta.db_table}" item ON (line."item_id" = item."id")'
        f' INNER JOIN "{Case._meta.db_table}" c ON (item."case_id" = c."id")'
    )


@cache
def _converters(vendor: str) -> tuple:
    """(index, column, converters) for each row column the ORM converts on this database
    (``vendor`` keys the cache): none on PostgreSQL."""
    found = []
    for index, (model, name, alias) in enumerate(_COLUMNS):
        column = model._meta.get_field(name).get_col(alias)
        converters = [*connection.ops.get_db_converters(column)]
        converters += column.get_db_converters(connection)
        if converters:
            found.append((index, column, tuple(converters)))
    return tuple(found)


def _row_mark(direction: str) -> str:
    """The page mark: lines after (``>``) or before (``<``) a line in the queue's order, one
    row-value comparison the report's index answers (the report id leads the row so the
    comparison starts where the index does; the subquery is uncorrelated, read once)."""
    order = ("report_id", *QUEUE_ORDER)
    line = ", ".join(f'line."{column}"' for column in order)
    mark = ", ".join(f'mark."{column}"' for column in order)
    return (
        f"({line}) {direction} (SELECT {mark}"
        f' FROM "{ExceptionReportLine._meta.db_table}" mark'
        ' WHERE mark."organization_id" = %s AND mark."id" = %s)'
    )


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def exception_queue_page(
    *,
    report,
    filters,
    site_ids,
    zone,
    after: int | None = None,
    before: int | None = None,
    last: bool = False,
    size: int = PAGE_SIZE,
) -> QueuePage:
    """One page of ``exception_queue_lines(report=..., filters=..., site_ids=...)`` by key, not
    by offset: the rows after line ``after`` (or before ``before``, or the last page), each
    read from the report's index however deep the page. One query of the bound organisation's
    lines (an unbound one raises, as the scoped managers do); none when no site is shown."""
    organization_id = tenancy.current_organization_id()
    site_ids = sorted(site_ids)
    mark = None if last else (after if before is None else before)
    backwards = last or before is not None
    rows = []
    if site_ids:  # as the ORM: an empty IN is no rows, and no query
        where, params = _where(organization_id, report, filters, site_ids, zone)
        if mark is not None:
            where.append(_row_mark("<" if backwards else ">"))
            params.extend([organization_id, mark])
        direction = " DESC" if backwards else " ASC"
        order = ", ".join(f'line."{column}"{direction}' for column in QUEUE_ORDER)
        sql = f"{_select()} WHERE ({' AND '.join(where)}) ORDER BY {order} LIMIT {int(size) + 1}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = [QueueLine(row) for row in _converted(cursor.fetchall())]
    if backwards:
        rows.reverse()
        return QueuePage(rows[-size:], has_next=not last, has_previous=len(rows) > size)
    return QueuePage(rows[:size], has_next=len(rows) > size, has_previous=after is not None)


def _where(organization_id, report, filters, site_ids, zone) -> tuple[list[str], list]:
    """The conditions of ``exception_queue_lines``, in the order the ORM writes them."""
    where = ['line."organization_id" = %s', 'line."report_id" = %s']
    params: list = [organization_id, report.pk]
    where.append(f'line."site_id" IN ({_placeholders(site_ids)})')
    params.extend(site_ids)
    if filters.site:
        where.append(
            f'line."site_id" IN (SELECT site."id" FROM "{Site._meta.db_table}" site'
            ' WHERE site."organization_id" = %s AND site."code" = %s)'
        )
        params.extend([organization_id, filters.site])
    if filters.kind:
        where.append('line."kind" = %s')
        params.append(filters.kind)
    statuses = filters.statuses()
    if statuses is not None:
        where.append(f'item."status" IN ({_placeholders(statuses)})')
        params.extend(str(status) for status in statuses)
    if filters.step:
        where.append('line."step" = %s')
        params.append(filters.step)
    if filters.assignee:
        where.append('item."assignee_key" = %s')
        params.append("" if filters.assignee == "none" else filters.assignee)
    if filters.age in AGE_BUCKETS:
        _, low, high = AGE_BUCKETS[filters.age]
        adapt = connection.ops.adapt_datetimefield_value
        if low is not None:
            where.append('line."since" < %s')
            params.append(adapt(local_midnight(report.date - timedelta(days=low - 1), zone)))
        if high is not None:
            where.append('line."since" >= %s')
            params.append(adapt(local_midnight(report.date - timedelta(days=high), zone)))
    return where, params


def _converted(rows: list[tuple]) -> list[tuple]:
    converters = _converters(connection.vendor)
    if not converters:
        return rows
    converted = []
    for row in rows:
        values = list(row)
        for index, column, functions in converters:
            for function in functions:
                values[index] = function(values[index], column, connection)
        converted.append(values)
    return converted
