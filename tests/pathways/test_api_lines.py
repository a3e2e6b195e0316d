"""The partner API's page statement (pathways.selectors.api_lines) reads the rows the ORM reads:
same lines, filters, order and cursor bounds, with the datetimes converted alike."""

import itertools
from datetime import timedelta

import pytest
from django.db.models import Subquery

from pathways.models import ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.selectors.api_lines import ORM_COLUMNS, exception_report_lines_for_sites
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    make_case,
    overdue_case,
)


def orm_lines(*, date, site_ids, kind="", status=""):
    """The queryset the API paged before issue 20's statement, kept here as the reference."""
    reports = ExceptionReport.objects.filter(lines_dropped_at__isnull=True)
    reports = reports.filter(date=date) if date is not None else reports.order_by("-date")
    lines = ExceptionReportLine.objects.filter(
        report_id=Subquery(reports.values("pk")[:1]), site_id__in=sorted(site_ids)
    )
    if kind:
        lines = lines.filter(kind=kind)
    if status:
        lines = lines.filter(item__status=status)
    return lines.order_by("id").values_list(*ORM_COLUMNS)


@pytest.fixture
def reports(personas, tenant):
    version = build_version()
    overdue_case(version, personas.north, "C-N1")
    overdue_case(version, personas.north, "C-N2")
    overdue_case(version, personas.south, "C-S1")
    late = make_case(version, personas.north, "C-LATE", at(DAY - timedelta(days=3), 9))
    complete(late, "intake", at(DAY, 10, 17))
    incomplete = make_case(version, personas.south, "C-INC", at(DAY - timedelta(days=2), 9))
    complete(incomplete, "intake", at(DAY - timedelta(days=1), 9))
    complete(incomplete, "assessment", at(DAY, 11), complete=True)
    earlier = exception_report_compute(organization=personas.org, date=DAY - timedelta(days=1))
    latest = exception_report_compute(organization=personas.org, date=DAY)
    ExceptionItem.objects.filter(case__external_ref="C-N2").update(status="resolved")
    # A datetime with microseconds, converted as the ORM converts it.
    line = ExceptionReportLine.objects.filter(report=latest).order_by("id").first()
    ExceptionReportLine.objects.filter(pk=line.pk).update(
        due_at=line.due_at + timedelta(microseconds=125_431)
    )
    return earlier, latest


def test_the_fixture_holds_each_kind_and_two_reports(reports):
    kinds = set(
        ExceptionReportLine.objects.filter(report=reports[1]).values_list("kind", flat=True)
    )
    assert {"overdue_step", "late_step", "incomplete_assessment"} <= kinds
    assert ExceptionReportLine.objects.filter(report=reports[0]).exists()


@pytest.mark.parametrize(
    ("day", "sites", "kind", "status"),
    itertools.product(
        [None, DAY, DAY - timedelta(days=1), DAY - timedelta(days=30)],
        ["north", "north+south"],
        ["", "overdue_step", "late_step", "incomplete_assessment"],
        ["", "open", "resolved"],
    ),
)
def test_each_filter_reads_the_orms_rows(reports, personas, day, sites, kind, status):
    site_ids = {personas.north.pk} | ({personas.south.pk} if "south" in sites else set())
    lines = exception_report_lines_for_sites(date=day, site_ids=site_ids, kind=kind, status=status)
    expected = orm_lines(date=day, site_ids=site_ids, kind=kind, status=status)
    assert list(lines.order_by("id")[0:1001]) == list(expected[0:1001])


def test_each_cursor_bound_direction_and_window_reads_the_orms_rows(reports, personas):
    site_ids = {personas.north.pk, personas.south.pk}
    lines = exception_report_lines_for_sites(date=None, site_ids=site_ids)
    expected = orm_lines(date=None, site_ids=site_ids)
    ids = sorted(row[0] for row in expected)
    assert len(ids) >= 4
    middle = str(ids[len(ids) // 2])
    for ordering, lookup, (start, stop) in itertools.product(
        ["id", "-id"], [None, "id__gt", "id__lt"], [(0, 2), (1, 4), (0, 1001), (3, 3)]
    ):
        ours, theirs = lines.order_by(ordering), expected.order_by(ordering)
        if lookup:
            ours, theirs = ours.filter(**{lookup: middle}), theirs.filter(**{lookup: middle})
        assert list(ours[start:stop]) == list(theirs[start:stop]), (ordering, lookup, start)


def test_a_position_that_is_no_id_fails_as_the_orm_fails(reports, personas):
    lines = exception_report_lines_for_sites(date=None, site_ids={personas.north.pk})
    with pytest.raises(ValueError, match="Field 'id' expected a number but got 'abc'"):
        lines.filter(id__gt="abc")


def test_a_key_without_sites_reads_nothing_without_a_query(reports, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert exception_report_lines_for_sites(date=None, site_ids=set())[0:101] == []


def test_another_organisations_lines_are_not_read(reports, personas):
    with tenancy.scope(personas.other_org):
        lines = exception_report_lines_for_sites(
            date=None, site_ids={personas.north.pk, personas.south.pk}
        )
        assert lines[0:1001] == []


def test_no_bound_organisation_raises(reports, personas):
    lines = exception_report_lines_for_sites(date=None, site_ids={personas.north.pk})
    with tenancy.isolated(), pytest.raises(tenancy.TenantNotBound):
        lines[0:10]
