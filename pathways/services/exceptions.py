"""The daily exception report (DESIGN.md section 3): the one service behind the Celery beat task,
``manage.py compute_exceptions`` and the queue's Recompute button.

Cases and their events are read in bounded chunks of case ids straight into pandas frames
(``values_list``, no model instances, no per-case queries) by the engine's one input reader
(``pathways.selectors.obligations``, which leaves out rows dated outside the plausible window
and counts them for the report) and handed to the pure engine. The
result is persisted set-based inside one transaction per report: exception items are upserted by
their natural key (case, obligation) without touching their triage state, and the day's report
lines are replaced, so re-running a day gives the identical report.

A day's report is built on the previous day's when that one records what it read (its start,
the last event id it saw and a digest of the definitions it applied). A case's report can only
differ from the day before if something about it changed since then (an event arrived or was
dated in the day, the case was edited) or one of its obligations fell due in the day (its anchor
lies ``within_hours`` before the day); only those cases are evaluated again, the rest carry
their standing lines (overdue, incomplete) over with one INSERT ... SELECT. Late completions of
the previous day drop out, as they would on a full evaluation. Without a usable previous report,
or with ``full=True``, every case is evaluated.
"""

import hashlib
import json
import logging
import time as monotonic_clock
from collections.abc import Callable
from contextlib import closing
from datetime import date, datetime, timedelta
from functools import partial

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from pathways import parallel_chunks
from pathways.definitions import REFERRAL_ANCHOR, PathwayDefinition
from pathways.models import (
    CaseEvent,
    EventType,
    ExceptionItem,
    ExceptionReport,
    ExceptionReportLine,
)
from pathways.plausible_time import latest_plausible
from pathways.selectors.exceptions import exception_report_summary_rows
from pathways.selectors.obligations import (
    case_chunks,
    engine_definitions,
    implausible_counts,
    plausible_cases,
)
from pathways.services.exception_items import (
    BATCH_SIZE,
    ReportRun,
    chunk_evaluate,
    chunk_persist,
)
from scaling_ops import tenancy
from scaling_ops.dates import local_window
from scaling_ops.models import Organization

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
Progress = Callable[[int, int], None]

# A partner request stamps received_at when it starts and commits within seconds; events it
# committed after a computation had read the table are found by looking back this far.
SETTLE = timedelta(minutes=10)
CHANGED_CASES = "exception_report_changed_cases"


def exception_report_window(*, organization: Organization, date: date) -> tuple[datetime, datetime]:
    """[start, end) of the organisation-local ``date`` in UTC; ``end`` is the report's cutoff."""
    return local_window(zone=organization.zone, start=date, end=date + timedelta(days=1))


def exception_report_compute(
    *,
    organization: Organization,
    date: date,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    full: bool = False,
) -> ExceptionReport:
    """Computes and persists the exception report of ``organization`` for its local ``date``,
    built on the previous day's report where it can be (see the module docstring) unless
    ``full``."""
    started = monotonic_clock.monotonic()
    # Before this function's own transaction: chunks evaluated in worker processes would not see
    # rows a caller's transaction wrote.
    in_caller_transaction = connection.in_atomic_block
    tenancy.refuse_another_organization(
        organization.pk, doing=f"compute organisation {organization.pk}'s report"
    )
    day_start, day_end = exception_report_window(organization=organization, date=date)
    with tenancy.scope(organization):
        run = ReportRun(
            organization_id=organization.pk,
            date=date,
            day_start=pd.Timestamp(day_start),
            day_end=pd.Timestamp(day_end),
            zone=organization.zone,
            now=timezone.now(),
            definitions=engine_definitions(),
        )
        digest = definitions_digest(run.definitions)
        with transaction.atomic():
            _lock_organization(organization.pk)
            if not in_caller_transaction:  # the caller's own writes keep their checks' timing
                _check_constraints_as_written()
            previous = None if full else _previous_report(run, digest)
            # Read before any case is: an event committed later has a larger id or, if its
            # transaction began earlier, a received_at inside SETTLE of this start.
            last_event_pk = CaseEvent.objects.aggregate(last=Max("pk"))["last"] or 0
            report, _ = ExceptionReport.objects.update_or_create(
                date=date,
                defaults={
                    "cutoff": day_end,
                    "computed_at": run.now,
                    "last_event_pk": last_event_pk,
                    "definitions_digest": digest,
                    "incremental": previous is not None,
                    # Lines dropped by retention are written again; the next run drops them.
                    "lines_dropped_at": None,
                },
            )
            run.report = report
            ExceptionReportLine.objects.filter(report=report).delete()
            cases = plausible_cases(cutoff=day_end, now=run.now)
            if previous is None:
                case_ids = None
                total = cases.count()
            else:
                case_ids = _changed_case_ids(run, previous)
                _carry_forward(run, previous, case_ids)
                total = len(case_ids)
            done = 0
            if progress is not None:
                progress(done, total)
            chunks = parallel_chunks.evaluated(
                case_chunks(cases, chunk_size=chunk_size, case_ids=case_ids),
                partial(chunk_evaluate, run),
                chunk_count=-(-total // chunk_size),
                in_caller_transaction=in_caller_transaction,
            )
            # Each chunk's items are looked up by organisation and case, their history by id.
            items_statistics = _GrowingTableStatistics(
                ExceptionItem, ["id", "organization", "case"]
            )
            # The queue reads a report's lines of some sites: planned with the statistics of an
            # organisation's empty table, its first page read and sorted every line.
            lines_statistics = _GrowingTableStatistics(
                ExceptionReportLine, ["organization", "report", "site"]
            )
            with closing(chunks):  # a failed write stops the workers at once
                for rows, evaluated in chunks:
                    items_statistics.grown_by(chunk_persist(run, rows, evaluated))
                    done += len(rows)
                    if progress is not None:
                        progress(done, total)
            _mark_reported(run)
            counts = ExceptionReportLine.objects.filter(report=report).aggregate(
                items=Count("pk"), cases=Count("item__case_id", distinct=True)
            )
            lines_statistics.grown_by(counts["items"])
            # Items this run closed automatically change older reports' counts by status.
            ExceptionReport.objects.exclude(pk=report.pk).filter(
                summary__isnull=False, lines_dropped_at__isnull=True
            ).update(summary=None)
            report.summary = exception_report_summary_rows(report_id=report.pk)
            report.computed_at = timezone.now()
            report.item_count = counts["items"]
            report.case_count = counts["cases"]
            report.cases_evaluated = done
            skipped = implausible_counts(now=run.now)
            report.implausible_cases = skipped.total_cases
            report.implausible_events = skipped.total_events
            report.duration_ms = int((monotonic_clock.monotonic() - started) * 1000)
            report.save(
                update_fields=[
                    "computed_at",
                    "summary",
                    "item_count",
                    "case_count",
                    "cases_evaluated",
                    "implausible_cases",
                    "implausible_events",
                    "duration_ms",
                ]
            )
    if report.implausible_cases or report.implausible_events:
        logger.warning("Exception report %s of %s: %s", date, organization.slug, report.skipped)
    return report


class _GrowingTableStatistics:
    """Keeps the planner's statistics of a table this transaction is filling up to date (the
    report's items as its chunks look them up, its lines for the queue's first reader).

    Each chunk looks up its cases' exception items. A first report (or a full one after many
    new cases) writes most of the items it then looks up, in one transaction that autovacuum
    cannot see into: planned with statistics of a table a fraction of its size, each lookup
    reads every item written so far, and the report's time grows with the square of its size.
    So the table is analyzed, inside the transaction (which counts its own rows), each time the
    rows it wrote pass the rows the planner knew of: a few times per report, doubling each time.
    ``SKIP_LOCKED``: another organisation's report analyzing the same table is not waited on
    (its statistics serve this one too, until both commit). Only the ``looked_up_by`` fields'
    statistics are taken (the table's row count always is): the lookups filter by those, and
    all of an item's eighteen columns took three and a half times as long."""

    FIRST_AT = 1000

    def __init__(self, model, looked_up_by: list[str]):
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in looked_up_by)
        self.table = f"{quote(model._meta.db_table)} ({columns})"
        self.known = self.written = 0
        self.enabled = connection.vendor == "postgresql"
        if self.enabled:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass",
                    [model._meta.db_table],
                )
                self.known = int(cursor.fetchone()[0])

    def grown_by(self, rows: int) -> None:
        self.written += rows
        if not self.enabled or self.written <= max(self.FIRST_AT, self.known):
            return
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE (SKIP_LOCKED) {self.table}")
        self.known += self.written
        self.written = 0


def definitions_digest(definitions: dict[int, PathwayDefinition]) -> str:
    """A fingerprint of the definitions a report applied: a day can only be built on the
    previous day's report if both applied the same."""
    canonical = json.dumps(
        {str(pk): definition.to_dict() for pk, definition in definitions.items()}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _previous_report(run: ReportRun, digest: str) -> ExceptionReport | None:
    """The previous day's report if this one can be built on it: it recorded what it read, it
    applied the same definitions and its cutoff is this day's start (the time zone held)."""
    previous = ExceptionReport.objects.filter(date=run.date - timedelta(days=1)).first()
    if (
        previous is None
        or previous.last_event_pk is None
        or previous.definitions_digest != digest
        or previous.cutoff != run.day_start
        or previous.lines_dropped_at is not None  # nothing left to carry forward
    ):
        return None
    return previous


def _carry_forward(run: ReportRun, previous: ExceptionReport, changed: list[int]) -> None:
    """Copies the previous day's standing lines (overdue and incomplete: the ones without a
    completion) of the unchanged cases into this report in one statement. The changed case ids
    go into a temporary table for it: a list parameter of that size is not portable."""
    quote = connection.ops.quote_name
    lines, items = (quote(model._meta.db_table) for model in (ExceptionReportLine, ExceptionItem))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {CHANGED_CASES}")
        cursor.execute(f"CREATE TEMPORARY TABLE {CHANGED_CASES} (case_id bigint PRIMARY KEY)")
        for start in range(0, len(changed), BATCH_SIZE):
            part = changed[start : start + BATCH_SIZE]
            cursor.execute(
                f"INSERT INTO {CHANGED_CASES} (case_id) VALUES "  # noqa: S608
                + ", ".join(["(%s)"] * len(part)),
                part,
            )
        cursor.execute(
            f"INSERT INTO {lines} (organization_id, report_id, item_id, kind, due_at, completed_at,"  # noqa: S608
            f" site_id, step, since)"
            f" SELECT line.organization_id, %s, line.item_id, line.kind, line.due_at,"
            f" line.completed_at, line.site_id, line.step, line.since"
            f" FROM {lines} line JOIN {items} item ON item.id = line.item_id"
            f" WHERE line.report_id = %s AND line.completed_at IS NULL AND NOT EXISTS"
            f" (SELECT 1 FROM {CHANGED_CASES} changed WHERE changed.case_id = item.case_id)",
            [run.report.pk, previous.pk],
        )
        cursor.execute(f"DROP TABLE {CHANGED_CASES}")


def _changed_case_ids(run: ReportRun, previous: ExceptionReport) -> list[int]:
    """The cases whose report can differ from the previous day's: events dated in the day or
    stored since the previous report read the table, cases edited since, and cases with an
    obligation that may fall due in the day (an anchor ``within_hours`` before it; tiers are
    ignored, so this is a superset). Two queries."""
    since, cutoff = run.day_start.to_pydatetime(), run.day_end.to_pydatetime()
    settled = previous.started_at - SETTLE
    # What the previous report could not read yet because it lay in that run's future.
    unread = latest_plausible(previous.started_at)
    # Events dated after the cutoff count for later days only, however recently stored.
    events = Q(occurred_at__lte=cutoff) & (
        Q(occurred_at__gte=since)
        | Q(pk__gt=previous.last_event_pk)
        | Q(received_at__gte=settled)
        | Q(occurred_at__gt=unread)
    )
    cases = Q(updated_at__gte=settled) | Q(referral_at__gt=unread)
    for event_type, step_key, hours in _due_windows(run.definitions):
        window = {
            "__gte": since - timedelta(hours=hours),
            "__lte": cutoff - timedelta(hours=hours),
        }
        if event_type is None:
            cases |= Q(**{f"referral_at{bound}": at for bound, at in window.items()})
        else:
            anchored = {f"occurred_at{bound}": at for bound, at in window.items()}
            if step_key:
                anchored["step_key"] = step_key
            events |= Q(type=event_type, **anchored)
    # order_by(): the models' default orderings would add their columns to the DISTINCT (every
    # matching event, sorted) and sort the cases, for a set.
    changed = set(
        CaseEvent.objects.filter(events).order_by().values_list("case_id", flat=True).distinct()
    )
    changed.update(
        plausible_cases(cutoff=cutoff, now=run.now)
        .filter(cases)
        .order_by()
        .values_list("pk", flat=True)
    )
    return sorted(changed)


def _due_windows(definitions: dict[int, PathwayDefinition]) -> set[tuple[str | None, str, float]]:
    """(anchoring event type or None for the referral, step key for step anchors, hours to
    due) of every time standard and escalation rule."""
    windows = set()
    for definition in definitions.values():
        for step in definition.steps:
            for standard in step.time_standards:
                if standard.anchor == REFERRAL_ANCHOR:
                    windows.add((None, "", standard.within_hours))
                elif standard.upstream_step is not None:
                    windows.add(
                        (EventType.STEP_COMPLETED, standard.upstream_step, standard.within_hours)
                    )
                else:
                    windows.add((standard.anchor, "", standard.within_hours))
        for rule in definition.escalation_rules:
            windows.add((EventType.CONTACT_MISSED, "", rule.escalate_within_hours))
    return windows


def _mark_reported(run: ReportRun) -> None:
    """Every item on the day's report was last reported on the day (unless a later day's
    report already has it): one UPDATE, no history row per standing item per day."""
    ExceptionItem.objects.filter(lines__report=run.report, last_reported_on__lt=run.date).update(
        last_reported_on=run.date
    )


def _lock_organization(organization_id: int) -> None:
    """Serialises report computations of one organisation until the transaction ends.

    Per organisation rather than per (organisation, date): two dates computed at once would race
    to create the same items (their natural key has no date), so they must not interleave either.
    On PostgreSQL a transaction-scoped advisory lock; on SQLite the database write lock, taken
    now (an UPDATE matching no row still takes it) so the read-compare-write below is serialised.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_advisory_key(organization_id)])
        elif connection.vendor == "sqlite":
            table = connection.ops.quote_name(ExceptionReport._meta.db_table)
            cursor.execute(f"UPDATE {table} SET id = id WHERE 0 = 1")  # noqa: S608


def _check_constraints_as_written() -> None:
    """On PostgreSQL, the foreign keys of the rows the report writes (items, lines, history)
    are checked as each statement ends instead of all at the commit (Django declares them
    deferred). The same checks, a row each, but made while the worker processes evaluate the
    next chunks rather than after the last one, when nothing else runs: at 250,000 cases about
    a second less of a full report's ~11."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _advisory_key(organization_id: int) -> int:
    digest = hashlib.blake2b(f"exception-report:{organization_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)
