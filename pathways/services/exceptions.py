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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import pandas as pd
from django.db import connection, transaction
from django.db.models import Case as SqlCase
from django.db.models import CharField, Count, DateTimeField, F, Max, Q, Value, When
from django.utils import timezone

from pathways import engine
from pathways.definitions import REFERRAL_ANCHOR, PathwayDefinition
from pathways.models import (
    CaseEvent,
    EventType,
    ExceptionItem,
    ExceptionKind,
    ExceptionReport,
    ExceptionReportLine,
)
from pathways.plausible_time import latest_plausible
from pathways.selectors.obligations import (
    case_chunks,
    case_frames,
    engine_data,
    engine_definitions,
    implausible_counts,
    plausible_cases,
)
from pathways.services.exception_triage import (  # noqa: F401  (the triage half of this service)
    OPEN_STATUSES,
    exception_item_accept,
    exception_item_assign,
    exception_item_resolve,
    exception_items_bulk_accept,
    exception_items_bulk_assign,
    exception_items_bulk_resolve,
)
from scaling_ops import tenancy
from scaling_ops.dates import local_window
from scaling_ops.models import Organization

logger = logging.getLogger(__name__)

CHUNK_SIZE = 5000
BATCH_SIZE = 1000
Progress = Callable[[int, int], None]

# Kinds that stand until something arrives: they close automatically when it does.
UNMET_KINDS = (ExceptionKind.OVERDUE_STEP, ExceptionKind.MISSED_ESCALATION)
FIGURE_FIELDS = ["kind", "anchor_at", "due_at", "completed_at", "last_reported_on", "updated_at"]
# A partner request stamps received_at when it starts and commits within seconds; events it
# committed after a computation had read the table are found by looking back this far.
SETTLE = timedelta(minutes=10)
CHANGED_CASES = "exception_report_changed_cases"
CLOSING_FIELDS = [*FIGURE_FIELDS, "status", "note", "closed_automatically"]


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
    tenancy.refuse_another_organization(
        organization.pk, doing=f"compute organisation {organization.pk}'s report"
    )
    day_start, day_end = exception_report_window(organization=organization, date=date)
    with tenancy.scope(organization):
        run = _Run(
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
            for rows in case_chunks(cases, chunk_size=chunk_size, case_ids=case_ids):
                _persist_chunk(run, rows)
                done += len(rows)
                if progress is not None:
                    progress(done, total)
            _mark_reported(run)
            counts = ExceptionReportLine.objects.filter(report=report).aggregate(
                items=Count("pk"), cases=Count("item__case_id", distinct=True)
            )
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


def definitions_digest(definitions: dict[int, PathwayDefinition]) -> str:
    """A fingerprint of the definitions a report applied: a day can only be built on the
    previous day's report if both applied the same."""
    canonical = json.dumps(
        {str(pk): definition.to_dict() for pk, definition in definitions.items()}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _previous_report(run: "_Run", digest: str) -> ExceptionReport | None:
    """The previous day's report if this one can be built on it: it recorded what it read, it
    applied the same definitions and its cutoff is this day's start (the time zone held)."""
    previous = ExceptionReport.objects.filter(date=run.date - timedelta(days=1)).first()
    if (
        previous is None
        or previous.last_event_pk is None
        or previous.definitions_digest != digest
        or previous.cutoff != run.day_start
    ):
        return None
    return previous


def _carry_forward(run: "_Run", previous: ExceptionReport, changed: list[int]) -> None:
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
            f"INSERT INTO {lines} (organization_id, report_id, item_id, kind, due_at, completed_at)"  # noqa: S608
            f" SELECT line.organization_id, %s, line.item_id, line.kind, line.due_at,"
            f" line.completed_at FROM {lines} line JOIN {items} item ON item.id = line.item_id"
            f" WHERE line.report_id = %s AND line.completed_at IS NULL AND NOT EXISTS"
            f" (SELECT 1 FROM {CHANGED_CASES} changed WHERE changed.case_id = item.case_id)",
            [run.report.pk, previous.pk],
        )
        cursor.execute(f"DROP TABLE {CHANGED_CASES}")


def _changed_case_ids(run: "_Run", previous: ExceptionReport) -> list[int]:
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
    changed = set(CaseEvent.objects.filter(events).values_list("case_id", flat=True).distinct())
    changed.update(
        plausible_cases(cutoff=cutoff, now=run.now).filter(cases).values_list("pk", flat=True)
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


def _mark_reported(run: "_Run") -> None:
    """Every item on the day's report was last reported on the day (unless a later day's
    report already has it): one UPDATE, no history row per standing item per day."""
    ExceptionItem.objects.filter(lines__report=run.report, last_reported_on__lt=run.date).update(
        last_reported_on=run.date
    )


@dataclass
class _Run:
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


def _advisory_key(organization_id: int) -> int:
    digest = hashlib.blake2b(f"exception-report:{organization_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _when(value) -> datetime | None:
    """A pandas timestamp as the aware datetime the database stores (microseconds)."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).floor("us").to_pydatetime()


def _persist_chunk(run: _Run, case_rows: list[tuple]) -> None:
    cases, events = case_frames(
        case_rows, cutoff=run.day_end.to_pydatetime(), now=run.now, data_of=run.data_of
    )
    report, obligations = engine.daily_report_and_obligations(
        cases, events, run.definitions, run.day_start, run.day_end
    )
    site_of = {row[0]: row[4] for row in case_rows}
    existing = {
        (item.case_id, item.obligation_key): item
        for item in ExceptionItem.objects.filter(case_id__in=list(site_of))
    }
    new_items: list[ExceptionItem] = []
    refreshed: list[ExceptionItem] = []  # figures changed, triage state kept
    closing: list[ExceptionItem] = []  # figures changed and closed automatically
    backdated: list[int] = []  # first reported earlier than we knew
    lines: list[tuple[ExceptionItem, str, datetime | None, datetime | None]] = []
    reported = set()
    for row in report.itertuples(index=False):
        key = (int(row.case_id), row.obligation_key)
        reported.add(key)
        figures = {
            "kind": row.kind,
            "anchor_at": _when(row.anchor_at),
            "due_at": _when(row.due_at),
            "completed_at": _when(row.completed_at),
        }
        item = existing.get(key)
        if item is None:
            item = ExceptionItem(
                organization_id=run.organization_id,
                case_id=key[0],
                obligation_key=row.obligation_key,
                site_id=site_of[key[0]],
                step=row.step,
                first_reported_on=run.date,
                last_reported_on=run.date,
                updated_at=run.now,
                **figures,
            )
            new_items.append(item)
        else:
            if run.date < item.first_reported_on:
                backdated.append(item.pk)
            # An older day recomputed after a newer one adds its line but never rolls the
            # item's figures back.
            if run.date >= item.last_reported_on:
                _refresh(run, item, figures, refreshed, closing)
        lines.append((item, row.kind, figures["due_at"], figures["completed_at"]))

    stale = [
        item
        for key, item in existing.items()
        if key not in reported
        and item.status in OPEN_STATUSES
        and item.last_reported_on <= run.date
        and item.kind in (*UNMET_KINDS, ExceptionKind.INCOMPLETE_ASSESSMENT)
    ]
    if stale:
        closing.extend(_close_stale(run, stale, obligations))

    _write(run, new_items, refreshed, closing, backdated)
    ExceptionReportLine.objects.bulk_create(
        [
            ExceptionReportLine(
                organization_id=run.organization_id,
                report=run.report,
                item_id=item.pk,
                kind=kind,
                due_at=due_at,
                completed_at=completed_at,
            )
            for item, kind, due_at, completed_at in lines
        ],
        batch_size=BATCH_SIZE,
    )


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


def _close(run: _Run, item: ExceptionItem, what: str) -> None:
    item.status = ExceptionItem.Status.RESOLVED
    item.closed_automatically = True
    item.note = f"{what}; closed automatically."
    item.updated_at = run.now
    item._change_reason = item.note


def _local(run: _Run, value: datetime) -> str:
    return timezone.localtime(value, run.zone).strftime("%Y-%m-%d %H:%M %Z")


def _close_stale(run: _Run, stale: list[ExceptionItem], obligations) -> list[ExceptionItem]:
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
        if item.kind == ExceptionKind.INCOMPLETE_ASSESSMENT:
            _close(run, item, "A complete assessment was recorded")
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
        ExceptionItem.objects.bulk_create(new_items, batch_size=BATCH_SIZE)
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


def _record_history(run: _Run, items, history_type: str, *, reason, only: Q | None = None) -> None:
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
        rows = ExceptionItem.objects.filter(pk__in=ids[start : start + BATCH_SIZE])
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


def _update_each(run: _Run, items: list[ExceptionItem], fields: list[str], only_open=False) -> None:
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
