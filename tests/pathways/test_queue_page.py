"""The queue's page of lines, read by one written-out statement
(``pathways.selectors.queue_page``), against the ORM's queryset it replaced: the same rows and
paging flags for every filter, page direction and page mark, on SQLite and PostgreSQL."""

from datetime import timedelta
from itertools import product

import pytest
from django.db.models import F
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleLessThan,
    TupleLookupMixin,
)

from pathways.models import ExceptionItem, ExceptionReportLine
from pathways.selectors.exceptions import QUEUE_ORDER, QueueFilters, exception_queue_lines
from pathways.selectors.queue_page import exception_queue_page
from pathways.services.exception_triage import (
    exception_item_accept,
    exception_item_assign,
    exception_item_resolve,
)
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, at, build_version, complete, event, make_case

# What the ORM's page read: these columns of the filtered lines, a row-value page mark.
ORM_FIELDS = (
    "pk",
    "kind",
    "due_at",
    "completed_at",
    "since",
    "report_id",
    "site_id",
    "item_id",
    "item__status",
    "item__assignee_name",
    "item__closed_automatically",
    "item__step",
    "item__case__external_ref",
)


class _RowCompare:
    def as_sql(self, compiler, connection):
        return super(TupleLookupMixin, self).as_sql(compiler, connection)


class _RowAfter(_RowCompare, TupleGreaterThan):
    pass


class _RowBefore(_RowCompare, TupleLessThan):
    pass


def _beyond(lines, line_id, lookup):
    order = ("report_id", *QUEUE_ORDER)
    mark = ExceptionReportLine.objects.filter(pk=line_id).values(*order)
    return lines.filter(lookup(Tuple(*(F(column) for column in order)), mark.query))


def orm_page(lines, *, after=None, before=None, last=False, size=3):
    """(rows, has_next, has_previous) as the ORM's page read them."""
    lines = lines.values_list(*ORM_FIELDS)
    if last:
        rows = list(lines.reverse()[: size + 1])
        rows.reverse()
        return rows[-size:], False, len(rows) > size
    if before is not None:
        rows = list(_beyond(lines, before, _RowBefore).reverse()[: size + 1])
        rows.reverse()
        return rows[-size:], True, len(rows) > size
    if after is not None:
        lines = _beyond(lines, after, _RowAfter)
    rows = list(lines[: size + 1])
    return rows[:size], len(rows) > size, after is not None


def written_page(**kwargs):
    page = exception_queue_page(size=3, **kwargs)
    rows = [
        (
            line.pk,
            line.kind,
            line.due_at,
            line.completed_at,
            line.since,
            line.report_id,
            line.site_id,
            line.item.pk,
            line.item.status,
            line.item.assignee_name,
            line.item.closed_automatically,
            line.item.step,
            line.item.case.external_ref,
        )
        for line in page.rows
    ]
    return rows, page.has_next, page.has_previous


@pytest.fixture
def report(personas, tenant):
    """North and south cases referred on different days (ages 0 to 40 days), overdue, late,
    missed escalations; items open, assigned, resolved, accepted and closed automatically."""
    with tenancy.scope(personas.org):
        version = build_version()
        for number, (site, days) in enumerate(
            product((personas.north, personas.south), (3, 4, 9, 12, 35, 40))
        ):
            case = make_case(version, site, f"P-{number:02d}", at(DAY - timedelta(days=days), 9))
            if number % 4 == 1:
                complete(case, "intake", at(DAY, 12))
            if number % 3 == 0:
                complete(case, "intake", at(DAY - timedelta(days=days - 1), 9))
                event(case, "contact_missed", at(DAY - timedelta(days=days - 1), 10))
                event(case, "contact_missed", at(DAY - timedelta(days=days - 1), 11))
        report = exception_report_compute(organization=personas.org, date=DAY)
        items = list(ExceptionItem.objects.order_by("pk"))
        exception_item_assign(
            item=items[0], by=personas.admin, assignee=f"user:{personas.supervisor.pk}"
        )
        exception_item_assign(
            item=items[1], by=personas.admin, assignee=f"user:{personas.admin.pk}"
        )
        exception_item_resolve(item=items[2], by=personas.admin, note="Called back")
        exception_item_accept(item=items[3], by=personas.admin, reason="Known to us")
        ExceptionItem.objects.filter(pk=items[4].pk).update(closed_automatically=True)
        return report


def test_every_filter_and_page_reads_the_orms_rows(personas, report):
    zone = personas.org.zone
    membership = personas.admin.memberships.get(organization=personas.org)
    both = {personas.north.pk, personas.south.pk}
    supervisor = f"user:{personas.supervisor.pk}"
    filters = [
        QueueFilters(),
        QueueFilters(status="all"),
        QueueFilters(status="resolved"),
        QueueFilters(site="north"),
        QueueFilters(site="south", status="all"),
        QueueFilters(kind="overdue_step"),
        QueueFilters(kind="missed_escalation", status="all"),
        QueueFilters(step="intake"),
        QueueFilters(assignee="none"),
        QueueFilters(assignee=supervisor, status="all"),
        *(QueueFilters(age=age, status="all") for age in ("0-1", "2-7", "8-30", "31+")),
    ]
    with tenancy.scope(personas.org):
        line_ids = list(ExceptionReportLine.objects.order_by("pk").values_list("pk", flat=True))
        marks = [line_ids[0], line_ids[len(line_ids) // 2], line_ids[-1], 10**12]
        compared = 0
        for chosen, site_ids in product(filters, (both, {personas.north.pk}, set())):
            lines = exception_queue_lines(
                membership=membership, report=report, filters=chosen, site_ids=site_ids
            )
            pages = [{}, {"last": True}, {"last": True, "before": marks[1]}]
            pages += [{"after": mark} for mark in marks] + [{"before": mark} for mark in marks]
            for paging in pages:
                expected = orm_page(lines, **paging)
                assert (
                    written_page(
                        report=report, filters=chosen, site_ids=site_ids, zone=zone, **paging
                    )
                    == expected
                ), (chosen, site_ids, paging)
                compared += bool(expected[0])
        assert compared > 100  # most comparisons hold rows, not two empty pages
        statuses = {row[8] for row in orm_page(exception_queue_lines(
            membership=membership, report=report, filters=QueueFilters(status="all"),
            site_ids=both), size=1000)[0]}  # fmt: skip
        assert statuses == {"open", "assigned", "resolved", "accepted"}
    with tenancy.isolated(), pytest.raises(tenancy.TenantNotBound):
        exception_queue_page(report=report, filters=QueueFilters(), site_ids=both, zone=zone)
