"""The partner API's page of a daily exception report: one SQL statement written here, not
built by the ORM on each request.

Issue 20: building and compiling the ORM's queryset (tenant filter, report subquery, three
joins) took about 0.6 ms of CPU per request, more than fetching and writing a 100-line page.
The statement is the one the ORM wrote (same joins, filters and order, so the same plan on the
``report_line_api_order`` index); the tests compare its rows with the ORM's for every filter
and cursor direction. It runs on SQLite and PostgreSQL alike, its datetimes converted as the
ORM converts them (nothing to do on PostgreSQL; made aware on SQLite)."""

from dataclasses import dataclass, replace
from datetime import date
from functools import cache

from django.db import connection

from pathways.models import ExceptionReportLine
from scaling_ops import tenancy

# The row: its line id (the cursor's key), then API.md's case, site, step, kind, due_at,
# completed_at and status, in that order.
_SELECT = (
    'SELECT line."id", "pathways_case"."external_ref", "scaling_ops_site"."code", line."step",'
    ' line."kind", line."due_at", line."completed_at", "pathways_exceptionitem"."status"'
    ' FROM "pathways_exceptionreportline" line'
    ' INNER JOIN "scaling_ops_site" ON (line."site_id" = "scaling_ops_site"."id")'
    ' INNER JOIN "pathways_exceptionitem" ON (line."item_id" = "pathways_exceptionitem"."id")'
    ' INNER JOIN "pathways_case" ON ("pathways_exceptionitem"."case_id" = "pathways_case"."id")'
)
# The report shown: the one of that date, or the latest, whose lines retention has not dropped
# (as pathways.selectors.exceptions.exception_report_exists finds it).
_REPORT = (
    'SELECT report."id" FROM "pathways_exceptionreport" report'
    ' WHERE (report."organization_id" = %s AND report."lines_dropped_at" IS NULL{date})'
    ' ORDER BY report."date" DESC LIMIT 1'
)
# The same row's columns as the ORM's lookups on a report line: what the tests' reference
# queryset and the bench's bare baseline read.
ORM_COLUMNS = (
    "id",
    "item__case__external_ref",
    "site__code",
    "step",
    "kind",
    "due_at",
    "completed_at",
    "item__status",
)
_DATETIME_COLUMNS = (5, 6)
_BOUNDS = {"id__gt": ">", "id__lt": "<"}


@cache
def _datetime_column(vendor: str):
    """The due_at column and what the ORM applies to its values on this database (``vendor``
    keys the cache): nothing on PostgreSQL, which returns aware datetimes."""
    column = ExceptionReportLine._meta.get_field("due_at").get_col("line")
    converters = [*connection.ops.get_db_converters(column)]
    converters += column.get_db_converters(connection)
    return column, tuple(converters)


@dataclass(frozen=True)
class ReportLinesForSites:
    """The lines of the report for ``date`` (or the latest) at ``site_ids`` (a partner key's
    sites), optionally of one kind and one item status, in id order. It answers what DRF's
    ``CursorPagination`` asks of a queryset (``order_by("id")`` or ``("-id")``,
    ``filter(id__gt=...)`` or ``(id__lt=...)``, then one slice) and runs the slice as one
    statement of the bound organisation's rows: the tenant is read when the rows are, and an
    unbound one raises, as the scoped managers do. No rows for a report that does not exist:
    ``exception_report_exists`` tells the two apart."""

    date: date | None
    site_ids: tuple[int, ...]
    kind: str = ""
    status: str = ""
    descending: bool = False
    bound: tuple[str, int] | None = None

    def order_by(self, ordering: str) -> "ReportLinesForSites":
        if ordering not in ("id", "-id"):
            raise ValueError(f"The lines are ordered by id only, not {ordering!r}.")
        return replace(self, descending=ordering == "-id")

    def filter(self, **lookup) -> "ReportLinesForSites":
        ((name, value),) = lookup.items()
        # The ORM's conversion of the cursor's position, with its error for one that is no id.
        position = ExceptionReportLine._meta.pk.get_prep_value(value)
        return replace(self, bound=(_BOUNDS[name], position))

    def __getitem__(self, window: slice) -> list[tuple]:
        if window.step is not None or window.start is None or window.stop is None:
            raise ValueError("Take one page: lines[offset:offset + size].")
        organization_id = tenancy.current_organization_id()
        if not self.site_ids:
            return []  # as the ORM: an empty IN is no rows, and no query
        params: list = [organization_id, organization_id]
        report = _REPORT.format(date=' AND report."date" = %s' if self.date is not None else "")
        if self.date is not None:
            params.append(self.date)
        where = [
            'line."organization_id" = %s',
            f'line."report_id" = ({report})',
            f'line."site_id" IN ({", ".join(["%s"] * len(self.site_ids))})',
        ]
        params.extend(self.site_ids)
        if self.kind:
            where.append('line."kind" = %s')
            params.append(self.kind)
        if self.status:
            where.append('"pathways_exceptionitem"."status" = %s')
            params.append(self.status)
        if self.bound is not None:
            where.append(f'line."id" {self.bound[0]} %s')
            params.append(self.bound[1])
        sql = (
            f"{_SELECT} WHERE ({' AND '.join(where)})"
            f" ORDER BY 1{' DESC' if self.descending else ' ASC'}"
            f" LIMIT {int(window.stop - window.start)} OFFSET {int(window.start)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        column, converters = _datetime_column(connection.vendor)
        if converters:
            rows = [_converted(row, column, converters) for row in rows]
        return rows


def _converted(row: tuple, column, converters: tuple) -> tuple:
    values = list(row)
    for index in _DATETIME_COLUMNS:
        for converter in converters:
            values[index] = converter(values[index], column, connection)
    return tuple(values)


def exception_report_lines_for_sites(
    *, date: date | None, site_ids, kind: str = "", status: str = ""
) -> ReportLinesForSites:
    return ReportLinesForSites(
        date=date, site_ids=tuple(sorted(site_ids)), kind=kind, status=status
    )
