"""A day's report built on the previous day's (only changed cases evaluated again, standing lines
carried over) must be the report a full evaluation gives: lines, items and triage alike."""

import json
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.db.models import F, Max

from pathways import demo as pathway_demo
from pathways.assignees import user_key
from pathways.models import Case, CaseEvent, ExceptionItem, ExceptionReport, TimeStandard
from pathways.services import bulk_load
from pathways.services.exception_triage import exception_item_assign, exception_item_resolve
from pathways.services.exceptions import exception_report_compute
from pathways.services.versions import pathway_version_import
from pathways.synthetic import Generator, SiteProfile
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    lines_of,
    make_case,
    overdue_case,
)

START = datetime(2026, 1, 5, tzinfo=UTC)
FIRST_DAY = date(2026, 2, 1)
DAYS = 12


class _Undo(Exception):
    """Raised to roll a run back to the savepoint it started from."""


def _compute(personas, day, **kwargs) -> ExceptionReport:
    return exception_report_compute(organization=personas.org, date=day, **kwargs)


@pytest.fixture
def synthetic(personas, tenant):
    """~450 generated cases at North and South over January and February, created (as in
    life) at their referral; their events not delivered yet, in the order they reach us."""
    definitions = [
        json.loads((pathway_demo.FIXTURES / name).read_text())
        for name in pathway_demo.PATHWAY_FILES
    ]
    for data in definitions:
        pathway_version_import(data=data, activate=True)
    profiles = [
        SiteProfile("north", 4, 0.15, 0.35, missed_share=0.12),
        SiteProfile("south", 4, 0.20, 0.45, missed_share=0.15, language_gap_end=0.2),
    ]
    end = datetime.combine(FIRST_DAY + timedelta(days=DAYS + 1), time(6), tzinfo=UTC)
    cases, events = [], []
    for case, case_events in Generator(definitions, profiles, START, end, seed=11).cases():
        cases.append(case)
        events.extend(case_events)
    case_ids = bulk_load.cases_bulk_load(cases=cases)
    Case.objects.update(created_at=F("referral_at"), updated_at=F("referral_at"))
    events.sort(key=lambda event: event.occurred_at + event.delay)
    return case_ids, events


def _run_days(personas, case_ids, events, *, full: bool):
    """Delivers the events day by day and computes each day's report an hour after its cutoff
    (so late events land on reports already computed), triaging along the way. Returns each
    day's lines and report, and every item's figures and triage at the end."""
    delivered, reports, lines = 0, {}, {}
    days = [FIRST_DAY + timedelta(days=offset) for offset in range(DAYS)]
    for day in days:
        arrived_by = datetime.combine(day + timedelta(days=1), time(1), tzinfo=UTC)
        batch = []
        while delivered < len(events) and events[delivered].occurred_at + events[
            delivered
        ].delay <= min(arrived_by, datetime.now(UTC)):
            batch.append(events[delivered])
            delivered += 1
        bulk_load.events_bulk_load(events=batch, case_ids=case_ids)
        report = _compute(personas, day, full=full)
        reports[day], lines[day] = report, lines_of(report)
        open_items = ExceptionItem.objects.filter(status=ExceptionItem.Status.OPEN)
        first, second = open_items.order_by("case__external_ref", "obligation_key")[:2]
        exception_item_assign(item=first, by=personas.admin, assignee=user_key(personas.admin))
        exception_item_resolve(item=second, by=personas.admin, note="Discussed at the huddle.")
    items = set(
        ExceptionItem.objects.values_list(
            "case__external_ref",
            "obligation_key",
            "kind",
            "due_at",
            "completed_at",
            "first_reported_on",
            "last_reported_on",
            "status",
            "assignee_key",
            "closed_automatically",
            "note",
        )
    )
    # Keys of event-anchored obligations name the event's row id, which differs between the
    # two runs on PostgreSQL (sequences are not rolled back): compare by the partner's id.
    partner_ids = dict(CaseEvent.objects.values_list("pk", "event_id"))

    def comparable(rows):
        return {
            (row[0], re.sub(r"event:(\d+)", lambda m: partner_ids[int(m[1])], row[1]), *row[2:])
            for row in rows
        }

    return reports, {day: comparable(rows) for day, rows in lines.items()}, comparable(items)


def _run_and_undo(personas, synthetic, *, full: bool):
    try:
        with transaction.atomic():
            outcome = _run_days(personas, *synthetic, full=full)
            raise _Undo
    except _Undo:
        return outcome


def test_reports_built_day_on_day_equal_full_evaluations(personas, synthetic):
    built, built_lines, built_items = _run_and_undo(personas, synthetic, full=False)
    full, full_lines, full_items = _run_and_undo(personas, synthetic, full=True)

    case_count = len(synthetic[0])
    later_days = list(built)[1:]
    assert not built[FIRST_DAY].incremental
    assert all(built[day].incremental for day in later_days)
    assert all(built[day].cases_evaluated < case_count / 2 for day in later_days)
    assert all(full[day].cases_evaluated > case_count / 2 for day in full)
    assert sum(len(day_lines) for day_lines in full_lines.values()) > 100
    for day in full:
        assert built_lines[day] == full_lines[day], day
        assert (built[day].item_count, built[day].case_count) == (
            full[day].item_count,
            full[day].case_count,
        )
    assert built_items == full_items
    kinds = {line[2] for day_lines in full_lines.values() for line in day_lines}
    assert {"overdue_step", "late_step"} <= kinds


@pytest.fixture
def version(tenant):
    return build_version()


def test_first_report_and_a_day_after_a_gap_evaluate_every_case(personas, version):
    overdue_case(version, personas.north, "C1")
    first = _compute(personas, DAY)
    next_day = _compute(personas, DAY + timedelta(days=1))
    after_gap = _compute(personas, DAY + timedelta(days=3))

    assert (first.incremental, next_day.incremental, after_gap.incremental) == (False, True, False)
    assert first.cases_evaluated == after_gap.cases_evaluated == 1


def test_changed_definitions_evaluate_every_case(personas, version):
    case = overdue_case(version, personas.north, "C1")
    _compute(personas, DAY)
    Case.objects.filter(pk=case.pk).update(updated_at=at(DAY - timedelta(days=3)))
    TimeStandard.objects.filter(version=version, anchor="referral").update(within_hours=12)

    report = _compute(personas, DAY + timedelta(days=1))

    assert not report.incremental
    assert report.cases_evaluated == 1


def test_case_edited_after_the_previous_report_is_evaluated_again(personas, version):
    case = make_case(version, personas.north, "C1", at(DAY, 20))
    _compute(personas, DAY)
    case.referral_at = at(DAY - timedelta(days=4), 9)  # intake now due long before the day
    case.save()

    report = _compute(personas, DAY + timedelta(days=1))

    assert report.incremental and report.cases_evaluated == 1
    assert {(line[1], line[2]) for line in lines_of(report)} == {
        ("step:intake/0@referral", "overdue_step")
    }


def test_unchanged_standing_items_are_carried_without_evaluating_their_case(personas, version):
    overdue_case(version, personas.north, "C1", day=DAY - timedelta(days=2))
    Case.objects.update(updated_at=at(DAY - timedelta(days=10)))
    first = _compute(personas, DAY)
    report = _compute(personas, DAY + timedelta(days=1))

    assert report.cases_evaluated == 0
    assert lines_of(report) == lines_of(first)
    item = ExceptionItem.objects.get()
    assert (item.first_reported_on, item.last_reported_on) == (DAY, DAY + timedelta(days=1))


def test_event_committed_after_the_previous_report_read_the_table_is_seen(personas, version):
    """A partner transaction that began before the previous report read the events and
    committed after it: its id is below the report's last_event_pk, but its received_at is
    within the settling time of the report's start."""
    case = overdue_case(version, personas.north, "C1")
    Case.objects.update(updated_at=at(DAY - timedelta(days=10)))
    previous = _compute(personas, DAY)
    complete(case, "intake", at(DAY, 15))  # dated in the past day: no day window catches it
    ExceptionReport.objects.filter(pk=previous.pk).update(
        last_event_pk=CaseEvent.objects.aggregate(last=Max("pk"))["last"]
    )

    report = _compute(personas, DAY + timedelta(days=1))

    assert report.cases_evaluated == 1
    item = ExceptionItem.objects.get(case=case, step="intake")
    assert (item.kind, item.status, item.closed_automatically) == ("late_step", "resolved", True)


def test_events_dated_after_the_cutoff_leave_the_case_carried(personas, version):
    case = overdue_case(version, personas.north, "C1")
    Case.objects.update(updated_at=at(DAY - timedelta(days=10)))
    _compute(personas, DAY)
    complete(case, "intake", at(DAY + timedelta(days=2), 10))  # stored now, counts later

    report = _compute(personas, DAY + timedelta(days=1))

    assert report.cases_evaluated == 0
    assert {line[2] for line in lines_of(report)} == {"overdue_step"}


def test_changed_figures_are_written_to_the_item_with_a_history_row(personas, version):
    case = overdue_case(version, personas.north, "C1")
    _compute(personas, DAY)
    case.referral_at -= timedelta(hours=5)  # the partner corrects the referral time
    case.save()

    _compute(personas, DAY + timedelta(days=1))

    item = ExceptionItem.objects.get(case=case)
    assert item.due_at == case.referral_at + timedelta(hours=48)
    latest = item.history.order_by("-history_date", "-history_id").first()
    assert (latest.history_type, latest.due_at, latest.history_change_reason) == (
        "~",
        item.due_at,
        "Exception report for 2026-03-03: Overdue step",
    )
