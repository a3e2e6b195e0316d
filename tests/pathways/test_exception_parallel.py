"""The full exception report with its chunks evaluated in forked worker processes
(``COMPUTE_PROCESSES`` 2) leaves exactly what the serial computation (1) leaves: items, lines,
history and figures; and it falls back to one process where workers cannot see or start."""

import logging
import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date

import pytest
from django.db import transaction

from pathways import parallel_chunks
from pathways.models import ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.services import exceptions
from scaling_ops import tenancy
from tests.pathways.exception_helpers import lines_of
from tests.pathways.parallel_helpers import (
    CHUNK,
    ProcessSpy,
    build_organisation,
    require_postgres,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAYS = [date(2026, 1, 29), date(2026, 1, 30)]


@pytest.fixture
def organisation(personas):
    require_postgres()
    build_organisation(personas.org)
    return personas.org


@pytest.fixture
def spy(monkeypatch):
    spy = ProcessSpy(exceptions.chunk_evaluate)
    monkeypatch.setattr(exceptions, "chunk_evaluate", spy)
    return spy


def computed(org, settings, processes: int):
    """Two days computed in full (new items, then figures refreshed and items closed), then
    everything they left, without ids and times of the run; the reports are removed after."""
    settings.COMPUTE_PROCESSES = processes
    with tenancy.scope(org):
        for day in DAYS:
            exceptions.exception_report_compute(
                organization=org, date=day, full=True, chunk_size=CHUNK
            )
        reports = {
            report.date: (
                report.item_count,
                report.case_count,
                report.cases_evaluated,
                report.summary,
                lines_of(report),
            )
            for report in ExceptionReport.objects.all()
        }
        items = set(
            ExceptionItem.objects.values_list(
                "case__external_ref",
                "obligation_key",
                "kind",
                "status",
                "note",
                "anchor_at",
                "due_at",
                "completed_at",
                "first_reported_on",
                "last_reported_on",
                "closed_automatically",
            )
        )
        history = Counter(
            ExceptionItem.history.values_list(
                "case__external_ref",
                "obligation_key",
                "history_type",
                "history_change_reason",
                "kind",
                "status",
                "due_at",
                "completed_at",
            )
        )
        ExceptionReportLine.objects.all().delete()
        ExceptionItem.objects.all().delete()  # writes a history row each: removed next
        ExceptionItem.history.all().delete()
        ExceptionReport.objects.all().delete()
    return reports, items, history


def test_chunks_evaluated_in_workers_leave_what_one_process_leaves(organisation, settings, spy):
    parallel = computed(organisation, settings, 2)
    workers = spy.processes()
    serial = computed(organisation, settings, 1)
    assert workers and os.getpid() not in workers
    assert spy.processes() - workers == {os.getpid()}
    reports, items, history = parallel
    assert sum(report[1] for report in reports.values()) > 0  # something was reported
    assert len(items) > 20
    assert parallel == serial


def test_a_daemonic_process_forks_workers_where_they_end_with_it(
    organisation, settings, spy, monkeypatch, caplog
):
    """A Celery prefork child is daemonic. On Linux its workers end with it, so it forks them
    (multiprocessing's rule lifted for the fork only); elsewhere it evaluates in one process."""
    serial = computed(organisation, settings, 1)
    process = multiprocessing.current_process()
    monkeypatch.setitem(process._config, "daemon", True)
    with caplog.at_level(logging.INFO, logger="pathways.parallel_chunks"):
        in_workers = computed(organisation, settings, 2)
    assert "Chunks evaluated by 2 worker processes" in caplog.text
    assert spy.processes() - {os.getpid()}
    assert process.daemon, "the rule is lifted for the fork only"
    assert in_workers == serial

    spy.clear()
    caplog.clear()
    monkeypatch.setattr(parallel_chunks, "ENDS_WITH_PARENT", False)
    with caplog.at_level(logging.INFO, logger="pathways.parallel_chunks"):
        fallback = computed(organisation, settings, 2)
    assert spy.processes() == {os.getpid()}
    assert "daemonic processes may not have children" in caplog.text
    assert fallback == serial


def test_one_process_when_the_system_refuses_workers(
    organisation, settings, spy, monkeypatch, caplog
):
    def refuse(self):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(ProcessPoolExecutor, "_launch_processes", refuse)
    serial = computed(organisation, settings, 1)
    with caplog.at_level(logging.WARNING, logger="pathways.parallel_chunks"):
        fallback = computed(organisation, settings, 2)
    assert spy.processes() == {os.getpid()}
    assert "workers could not start (Resource temporarily unavailable)" in caplog.text
    assert fallback == serial


def test_one_process_inside_a_callers_transaction(organisation, settings, spy):
    settings.COMPUTE_PROCESSES = 2
    with tenancy.scope(organisation), transaction.atomic():
        report = exceptions.exception_report_compute(
            organization=organisation, date=DAYS[0], full=True, chunk_size=CHUNK
        )
    assert report.cases_evaluated > CHUNK
    assert spy.processes() == {os.getpid()}


def test_a_failing_chunk_writes_nothing(organisation, settings, monkeypatch):
    settings.COMPUTE_PROCESSES = 2
    evaluate = exceptions.chunk_evaluate
    calls = multiprocessing.Value("i", 0)

    def failing(run, rows):
        with calls.get_lock():
            calls.value += 1
            if calls.value == 3:
                raise RuntimeError("chunk failed")
        return evaluate(run, rows)

    monkeypatch.setattr(exceptions, "chunk_evaluate", failing)
    with tenancy.scope(organisation), pytest.raises(RuntimeError, match="chunk failed"):
        exceptions.exception_report_compute(
            organization=organisation, date=DAYS[0], full=True, chunk_size=CHUNK
        )
    with tenancy.scope(organisation):
        assert not ExceptionReport.objects.exists()
        assert not ExceptionItem.objects.exists()


def test_a_failing_write_stops_the_workers_and_writes_nothing(organisation, settings, monkeypatch):
    settings.COMPUTE_PROCESSES = 2
    persist = exceptions.chunk_persist
    persisted = []

    def failing(run, rows, evaluated):
        if persisted:
            raise RuntimeError("write failed")
        persisted.append(rows)
        return persist(run, rows, evaluated)

    monkeypatch.setattr(exceptions, "chunk_persist", failing)
    with tenancy.scope(organisation), pytest.raises(RuntimeError, match="write failed"):
        exceptions.exception_report_compute(
            organization=organisation, date=DAYS[0], full=True, chunk_size=CHUNK
        )
    # Stopped and reaped when the error left the loop, not when its traceback is freed.
    assert multiprocessing.active_children() == []
    with tenancy.scope(organisation):
        assert not ExceptionReport.objects.exists()
        assert not ExceptionItem.objects.exists()


def test_a_report_of_one_chunk_is_a_diagnostic_not_news(organisation, settings, caplog):
    """One chunk needs no workers: routine, so it is logged at DEBUG only (the demo computes 91
    such daily reports, and a line each at INFO came between the seeding's progress bars)."""
    settings.COMPUTE_PROCESSES = 2
    with tenancy.scope(organisation):
        with caplog.at_level(logging.INFO, logger="pathways.parallel_chunks"):
            exceptions.exception_report_compute(
                organization=organisation, date=DAYS[0], full=True, chunk_size=10**6
            )
        assert "Chunks evaluated" not in caplog.text
        with caplog.at_level(logging.DEBUG, logger="pathways.parallel_chunks"):
            exceptions.exception_report_compute(
                organization=organisation, date=DAYS[1], full=True, chunk_size=10**6
            )
    assert "Chunks evaluated in one process: one chunk" in caplog.text
