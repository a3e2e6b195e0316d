"""Persistence of the daily exception report: idempotent recomputation that keeps triage state,
late completions that close items automatically with history, organisation-local days."""

from datetime import timedelta

import pytest
from django.db import connection, transaction

from pathways.assignees import user_key
from pathways.models import ExceptionItem, ExceptionReport
from pathways.services.exception_items import _insert
from pathways.services.exception_triage import (
    exception_item_accept,
    exception_item_assign,
    exception_item_resolve,
)
from pathways.services.exceptions import _advisory_key, _lock_organization, exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    event,
    lines_of,
    make_case,
    overdue_case,
)

NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture
def version(tenant):
    return build_version()


def compute(personas, day=DAY, **kwargs):
    return exception_report_compute(organization=personas.org, date=day, **kwargs)


def item_of(case) -> ExceptionItem:
    return ExceptionItem.objects.get(case=case, step="intake")


def test_a_day_computed_twice_gives_identical_lines(personas, version):
    overdue_case(version, personas.north, "C-1")
    late = make_case(version, personas.south, "C-2", at(DAY - timedelta(days=2), 8))
    complete(late, "intake", at(DAY, 12))
    first = lines_of(compute(personas))
    second = lines_of(compute(personas))
    assert first == second
    assert {(ref, kind) for ref, _, kind, _, _ in first} == {
        ("C-1", "overdue_step"),
        ("C-2", "late_step"),
    }
    assert ExceptionReport.objects.count() == 1
    assert ExceptionItem.objects.count() == 2


def test_recompute_keeps_assignments_and_resolutions(personas, version):
    overdue_case(version, personas.north, "C-1")
    overdue_case(version, personas.north, "C-2")
    compute(personas)
    first, second = ExceptionItem.objects.order_by("case__external_ref")
    exception_item_assign(
        item=first, by=personas.supervisor, assignee=user_key(personas.supervisor)
    )
    exception_item_resolve(item=second, by=personas.supervisor, note="Visit rebooked.")
    compute(personas)
    compute(personas, NEXT_DAY)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.assignee_key) == ("assigned", user_key(personas.supervisor))
    assert (second.status, second.note) == ("resolved", "Visit rebooked.")
    assert first.last_reported_on == NEXT_DAY


def test_late_completion_after_overdue_report_turns_item_late_and_closes_it(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    compute(personas)
    item = item_of(case)
    exception_item_assign(item=item, by=personas.supervisor, assignee=user_key(personas.supervisor))
    complete(case, "intake", at(NEXT_DAY, 10, 15))
    compute(personas, NEXT_DAY)
    item.refresh_from_db()
    assert item.kind == "late_step"
    assert item.completed_at == at(NEXT_DAY, 10, 15)
    assert item.status == "resolved"
    assert item.closed_automatically
    assert item.note == "Completed late at 2026-03-03 10:15 GMT; closed automatically."
    history = list(item.history.order_by("history_date", "history_id"))
    assert [h.status for h in history] == ["open", "assigned", "resolved"]
    assert [h.kind for h in history] == ["overdue_step", "overdue_step", "late_step"]
    assert history[-1].history_change_reason == item.note


def test_completion_dated_before_the_day_closes_a_standing_item_when_it_arrives(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    compute(personas)
    # Done on DAY evening but sent by the partner only after DAY's report was computed.
    complete(case, "intake", at(DAY, 20))
    compute(personas, NEXT_DAY)
    item = item_of(case)
    assert (item.kind, item.status, item.closed_automatically) == ("late_step", "resolved", True)
    assert item.completed_at == at(DAY, 20)
    assert lines_of(ExceptionReport.objects.get(date=NEXT_DAY)) == set()


def test_resolved_item_stays_resolved_when_its_late_completion_arrives(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    compute(personas)
    item = item_of(case)
    exception_item_resolve(item=item, by=personas.supervisor, note="Practitioner coached.")
    complete(case, "intake", at(NEXT_DAY, 9))
    compute(personas, NEXT_DAY)
    item.refresh_from_db()
    assert (item.kind, item.status, item.note) == ("late_step", "resolved", "Practitioner coached.")
    assert not item.closed_automatically


def test_accepted_item_stays_accepted_on_recompute(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    compute(personas)
    exception_item_accept(item=item_of(case), by=personas.admin, reason="Person in hospital.")
    compute(personas)
    compute(personas, NEXT_DAY)
    item = item_of(case)
    assert (item.status, item.note) == ("accepted", "Person in hospital.")


def test_past_day_lines_unchanged_when_a_later_day_is_computed(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    past = compute(personas)
    before = lines_of(past)
    complete(case, "intake", at(NEXT_DAY, 10))
    compute(personas, NEXT_DAY)
    assert lines_of(past) == before
    assert {kind for _, _, kind, _, _ in before} == {"overdue_step"}


def test_recomputing_an_older_day_does_not_roll_the_item_back(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    complete(case, "intake", at(NEXT_DAY, 10))
    compute(personas, NEXT_DAY)
    compute(personas, DAY)
    item = item_of(case)
    assert (item.kind, item.last_reported_on, item.first_reported_on) == (
        "late_step",
        NEXT_DAY,
        DAY,
    )
    assert {kind for _, _, kind, _, _ in lines_of(ExceptionReport.objects.get(date=DAY))} == {
        "overdue_step"
    }


def test_chunk_size_does_not_change_the_report(personas, version):
    for number in range(7):
        case = overdue_case(version, personas.north, f"C-{number}", tier="high")
        if number % 2:
            complete(case, "intake", at(DAY, 11))
        if number % 3 == 0:
            event(case, "contact_missed", at(DAY - timedelta(days=1), 9))
            event(case, "contact_missed", at(DAY - timedelta(days=1), 15))
    small = lines_of(compute(personas, chunk_size=2))
    large = lines_of(compute(personas, chunk_size=1000))
    assert small == large
    assert {kind for _, _, kind, _, _ in small} >= {
        "overdue_step",
        "late_step",
        "missed_escalation",
    }


def test_day_boundaries_follow_the_organisation_time_zone(personas, version):
    personas.org.time_zone = "Asia/Tokyo"  # UTC+9
    personas.org.save(update_fields=["time_zone"])
    case = make_case(version, personas.north, "C-1", at(DAY - timedelta(days=3), 1))
    # 08:30 on DAY in Tokyo is 23:30 UTC the day before: it belongs to DAY.
    complete(case, "intake", at(DAY - timedelta(days=1), 23, 30))
    before = compute(personas, DAY - timedelta(days=1))
    report = compute(personas, DAY)
    assert report.cutoff == at(DAY, 15)  # midnight of the next Tokyo day, in UTC
    assert {kind for _, _, kind, _, _ in lines_of(before)} == {"overdue_step"}
    assert {kind for _, _, kind, _, _ in lines_of(report)} == {"late_step"}


def test_event_at_half_past_eleven_local_counts_for_that_local_day(personas, version):
    personas.org.time_zone = "America/New_York"  # UTC-5 in March before DST
    personas.org.save(update_fields=["time_zone"])
    case = make_case(version, personas.north, "C-1", at(DAY - timedelta(days=3), 12))
    complete(case, "intake", at(NEXT_DAY, 4, 30))  # 23:30 on DAY in New York
    assert {k for _, _, k, _, _ in lines_of(compute(personas, DAY))} == {"late_step"}
    assert lines_of(compute(personas, NEXT_DAY)) == set()


def test_incomplete_assessment_closes_when_a_complete_one_arrives(personas, version):
    case = make_case(version, personas.north, "C-1", at(DAY, 8))
    complete(case, "intake", at(DAY, 9))
    complete(case, "assessment", at(DAY, 10), complete=False)
    compute(personas)
    item = ExceptionItem.objects.get(kind="incomplete_assessment")
    complete(case, "assessment", at(NEXT_DAY, 10), home_risk="low")
    compute(personas, NEXT_DAY)
    item.refresh_from_db()
    assert (item.status, item.closed_automatically) == ("resolved", True)
    assert item.note == "A complete assessment was recorded; closed automatically."


def test_incomplete_assessment_stays_open_when_an_older_day_is_recomputed(personas, version):
    case = make_case(version, personas.north, "C-1", at(DAY - timedelta(days=1), 8))
    complete(case, "intake", at(DAY - timedelta(days=1), 9))
    complete(case, "assessment", at(DAY, 10), complete=False)
    compute(personas)
    compute(personas, DAY - timedelta(days=1))
    assert ExceptionItem.objects.get(kind="incomplete_assessment").status == "open"


def test_closure_before_due_arriving_late_closes_the_standing_item(personas, version):
    case = overdue_case(version, personas.north, "C-1")
    compute(personas)
    event(case, "case_closed", at(DAY - timedelta(days=3), 12))  # before intake was due
    compute(personas, NEXT_DAY)
    item = item_of(case)
    assert (item.status, item.closed_automatically, item.kind) == ("resolved", True, "overdue_step")
    assert item.note == "The case closed before this was due; closed automatically."


def test_new_items_keep_a_history_row_saying_which_report_raised_them(personas, version):
    overdue_case(version, personas.north, "C-1")
    compute(personas)
    (row,) = ExceptionItem.history.all()
    assert row.history_type == "+"
    assert row.history_change_reason == "Raised by the exception report for 2026-03-02"


def test_standing_items_add_no_history_row_per_day(personas, version):
    overdue_case(version, personas.north, "C-1")
    for offset in range(3):
        compute(personas, DAY + timedelta(days=offset))
    assert ExceptionItem.history.count() == 1
    assert ExceptionItem.objects.get().last_reported_on == DAY + timedelta(days=2)


def test_report_records_counts_cutoff_and_computation(personas, version):
    overdue_case(version, personas.north, "C-1")
    case = overdue_case(version, personas.south, "C-2", tier="high")
    event(case, "contact_missed", at(DAY - timedelta(days=1), 8))  # follow-up due DAY 08:00
    report = compute(personas)
    assert (report.item_count, report.case_count) == (3, 2)
    assert report.cutoff == at(NEXT_DAY)
    assert report.computed_at is not None


def test_progress_is_reported_per_chunk(personas, version):
    for number in range(5):
        overdue_case(version, personas.north, f"C-{number}")
    calls = []
    compute(personas, chunk_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_items_are_per_organisation(personas, version):
    overdue_case(version, personas.north, "C-1")
    compute(personas)
    with tenancy.scope(personas.other_org):
        report = exception_report_compute(organization=personas.other_org, date=DAY)
        assert (report.item_count, ExceptionItem.objects.count()) == (0, 0)


def test_computing_under_another_bound_organisation_is_refused(personas, version):
    with pytest.raises(tenancy.TenantNotBound):
        exception_report_compute(organization=personas.other_org, date=DAY)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_advisory_lock_is_held_until_the_transaction_ends(personas, tenant):
    if connection.vendor != "postgresql":
        pytest.skip("the advisory lock is PostgreSQL's; SQLite serialises writers itself")
    import psycopg2

    settings = connection.settings_dict
    other = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
    )
    try:
        other.autocommit = True
        key = _advisory_key(personas.org.pk)
        with transaction.atomic():
            _lock_organization(personas.org.pk)
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                assert cursor.fetchone()[0] is False
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s), pg_advisory_unlock(%s)", [key, key])
            assert cursor.fetchone()[0] is True
    finally:
        other.close()


def test_written_items_keep_their_values_exactly_and_get_their_ids(personas, version):
    """The write path (COPY's text format on PostgreSQL) keeps text with tabs, backslashes and
    line breaks, times to the microsecond and missing times as given, and sets each id."""
    case = overdue_case(version, personas.north, "C-1")
    anchor = at(DAY, 9).replace(microsecond=123456)
    awkward = ["tab\there", "back\\slash", "line\nbreak\r", "\\N"]
    items = [
        ExceptionItem(
            organization_id=personas.org.pk,
            case=case,
            obligation_key=f"step:intake/{number}@{text}",
            site=personas.north,
            step="intake",
            kind="overdue_step",
            anchor_at=anchor,
            due_at=anchor + timedelta(hours=number) if number else None,
            completed_at=None,
            first_reported_on=DAY,
            last_reported_on=NEXT_DAY,
            note=text,
            closed_automatically=bool(number % 2),
        )
        for number, text in enumerate(awkward)
    ]
    _insert(items, returning_pk=True)
    stored = {item.pk: item for item in ExceptionItem.objects.filter(case=case)}
    assert set(stored) == {item.pk for item in items}
    fields = ["obligation_key", "note", "anchor_at", "due_at", "completed_at"]
    fields += ["first_reported_on", "last_reported_on", "closed_automatically", "site_id"]
    for item in items:
        assert [getattr(stored[item.pk], name) for name in fields] == [
            getattr(item, name) for name in fields
        ]


def test_a_full_computations_queries_do_not_grow_with_its_cases(personas, version):
    """One chunk's reads and writes are a fixed number of statements however many cases and
    items it holds (case ids go as one array parameter on PostgreSQL, lines by COPY or
    multi-row INSERT); each line carries its item's site and step and its since time."""
    from django.test.utils import CaptureQueriesContext

    from pathways.models import ExceptionReportLine

    counts = []
    for number in range(0, 12, 3):
        for offset in range(3):
            overdue_case(version, personas.north, f"C-{number + offset}")
        with CaptureQueriesContext(connection) as queries:
            compute(personas, full=True)
        counts.append(len(queries))
    # The first run only creates items; each later one also finds the earlier cases' items.
    assert counts[1] == counts[2] == counts[3]
    lines = ExceptionReportLine.objects.filter(report__date=DAY).select_related("item")
    assert len(lines) == 12
    for line in lines:
        assert (line.site_id, line.step) == (line.item.site_id, line.item.step)
        assert line.since == (line.due_at or line.item.anchor_at)


def test_a_report_filling_the_items_table_keeps_the_planners_statistics_current(
    personas, version, monkeypatch
):
    """Its chunks look items up by case: planned with the statistics of an empty table, each
    lookup would read every item the report had written so far."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite keeps none to go stale")
    from pathways.services import exceptions

    monkeypatch.setattr(exceptions._GrowingTableStatistics, "FIRST_AT", 3)

    def planners_items():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples FROM pg_class WHERE relname = 'pathways_exceptionitem'"
            )
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pathways_exceptionitem")
    assert planners_items() == 0
    for number in range(10):  # under autovacuum's 50-row threshold: only the report analyzes
        overdue_case(version, personas.north, f"C-{number}")
    compute(personas, chunk_size=2)
    # Analyzed after the second chunk (4 items, past 3) and the fifth (6 more, past the 4 known).
    assert planners_items() == ExceptionItem.objects.count() == 10
    with connection.cursor() as cursor:  # the columns the lookups filter by, and only those
        cursor.execute(
            "SELECT attname FROM pg_stats WHERE tablename = 'pathways_exceptionitem'"
            " AND schemaname = current_schema()"
        )
        assert {name for (name,) in cursor.fetchall()} == {"id", "organization_id", "case_id"}


def test_a_first_report_leaves_its_lines_statistics_for_the_queue(personas, version, monkeypatch):
    """Planned with the statistics of an empty lines table, the queue's first page read and
    sorted every line of the report (0.25 s at 60,000 lines, 2 ms once analyzed)."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite keeps none to go stale")
    from pathways.services import exceptions

    monkeypatch.setattr(exceptions._GrowingTableStatistics, "FIRST_AT", 3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pathways_exceptionreportline")
    for number in range(5):
        overdue_case(version, personas.north, f"C-{number}")
    compute(personas)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'pathways_exceptionreportline'"
        )
        assert cursor.fetchone()[0] == 5
        cursor.execute(
            "SELECT attname FROM pg_stats WHERE tablename = 'pathways_exceptionreportline'"
            " AND schemaname = current_schema()"
        )
        assert {name for (name,) in cursor.fetchall()} == {
            "organization_id",
            "report_id",
            "site_id",
        }
    compute(personas, day=NEXT_DAY)  # 5 lines more: fewer than the planner knows of
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = 'pathways_exceptionreportline'"
        )
        assert cursor.fetchone()[0] == 5


@pytest.mark.django_db(transaction=True)
def test_a_reports_rows_are_checked_against_their_keys_as_each_is_written(
    personas, version, monkeypatch
):
    """On PostgreSQL a row a report writes meets its foreign keys when its statement ends, not
    at the commit, so the checks run beside the chunks' evaluation (in its own transaction: a
    caller's keeps its timing)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite checks its foreign keys at the commit either way")
    from django.db import IntegrityError

    from pathways.models import ExceptionReportLine
    from pathways.services import exceptions

    overdue_case(version, personas.north, "C-1")
    persist = exceptions.chunk_persist
    refused = []

    def persist_then_probe(run, rows, evaluated):
        raised = persist(run, rows, evaluated)
        line = ExceptionReportLine.objects.filter(report=run.report).values().first()
        line.update(id=None, item_id=10**12)  # no such item
        try:
            with transaction.atomic():
                ExceptionReportLine.objects.create(**line)
        except IntegrityError:
            refused.append(True)
        return raised

    monkeypatch.setattr(exceptions, "chunk_persist", persist_then_probe)
    compute(personas)
    assert refused == [True]
    assert ExceptionReportLine.objects.count() == 1


def test_a_line_names_only_its_items_own_organisation_and_site(personas, version):
    """On PostgreSQL a line's (item, organisation, site) is one foreign key to its item's own
    (migration 0010), so no line can be shown at another site or organisation than its item's,
    whatever writes it."""
    if connection.vendor != "postgresql":
        pytest.skip("Django cannot declare the composite key: SQLite keeps single-column keys")
    from django.db import IntegrityError

    from pathways.models import ExceptionReportLine

    overdue_case(version, personas.north, "C-1")
    line = ExceptionReportLine.objects.get(report=compute(personas))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    elsewhere = (
        {"site_id": personas.south.pk},
        {"organization_id": personas.other_org.pk, "site_id": personas.other_site.pk},
    )
    for moved in elsewhere:
        with pytest.raises(IntegrityError), transaction.atomic():
            ExceptionReportLine.dangerously_unscoped.filter(pk=line.pk).update(**moved)
    line.refresh_from_db()
    assert (line.organization_id, line.site_id) == (personas.org.pk, personas.north.pk)
