"""A real Celery worker killed in the middle of a daily exception report; two runs for one
organisation and day at once. Needs PostgreSQL (the worker is another process, so the data must
be committed: transactional tests) and Redis (the broker); skips with the reason otherwise:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scaling_ops_faults \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m pytest tests/faults
"""

import os
import signal
import subprocess
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from pathways.assignees import user_key
from pathways.models import ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.services.exception_triage import (
    exception_item_accept,
    exception_item_assign,
    exception_item_resolve,
)
from pathways.services.exceptions import _advisory_key, exception_report_compute
from pathways.tasks import compute_exception_report
from scaling_ops import tenancy
from tests.faults.services import broker, database_url, require_postgres, require_redis
from tests.pathways.exception_helpers import lines_of
from tests.pathways.parallel_helpers import build_organisation

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    # Real workers on one Redis: under xdist these run one after another on one worker.
    pytest.mark.xdist_group("celery_worker"),
]

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"
TRIAGED_DAY, DAY = date(2026, 1, 29), date(2026, 1, 30)
CHUNK = 20  # cases per chunk in the worker: ~300 cases make ~15 chunks
WAIT = 180  # seconds any one step may take on a busy machine before the test gives up


@pytest.fixture
def services():
    require_postgres()
    return require_redis()


@pytest.fixture
def organisation(services, personas):
    """~300 synthetic cases over January at North and South, with slippage; the report of the
    day before DAY computed and triaged (assigned, resolved, accepted)."""
    build_organisation(personas.org)
    with tenancy.scope(personas.org):
        exception_report_compute(organization=personas.org, date=TRIAGED_DAY)
        first, second, third = ExceptionItem.objects.order_by("case__external_ref", "pk")[:3]
        by = personas.admin
        exception_item_assign(item=first, by=by, assignee=user_key(personas.supervisor))
        exception_item_resolve(item=second, by=by, note="Visit rebooked with the family.")
        exception_item_accept(item=third, by=by, reason="Family asked to wait a week.")
    return personas.org


def triage(org) -> dict:
    with tenancy.scope(org):
        return {
            (ref, key): (status, assignee, note)
            for ref, key, status, assignee, note in ExceptionItem.objects.exclude(
                status=ExceptionItem.Status.OPEN
            ).values_list("case__external_ref", "obligation_key", "status", "assignee_key", "note")
        }


def state(org, day: date = DAY):
    """Everything a report of ``day`` leaves behind, without what changes on every run."""
    with tenancy.scope(org):
        report = ExceptionReport.objects.filter(date=day).first()
        if report is None:
            return None
        items = set(
            ExceptionItem.objects.values_list(
                "case__external_ref",
                "obligation_key",
                "kind",
                "status",
                "assignee_key",
                "note",
                "due_at",
                "completed_at",
                "first_reported_on",
                "last_reported_on",
                "closed_automatically",
            )
        )
        figures = (report.cutoff, report.item_count, report.case_count)
        lines = ExceptionReportLine.objects.filter(report=report).count()
        return figures, lines, lines_of(report), items


class Worker:
    """One ``celery worker --pool=solo`` process on this test's queue and database."""

    def __init__(self, tmp_path: Path, redis_url: str, queue: str, name: str, **knobs):
        self.log = tmp_path / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url,
            "FAULTS_CHUNK_SIZE": str(CHUNK),
            **{key: str(value) for key, value in knobs.items()},
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        command = [str(CELERY), "-A", "tests.faults.worker_app", "worker", "--pool=solo"]
        command += ["-Q", queue, "-n", f"{name}-{queue}@%h", "--loglevel=INFO"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def output(self) -> str:
        return self.log.read_text()

    def succeeded(self) -> int:
        return self.output().count("succeeded in")

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(
                    f"the worker exited ({self.process.returncode}) before {what}:\n"
                    + self.output()[-3000:]
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {WAIT}s:\n" + self.output()[-3000:])
            time.sleep(0.1)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def send(redis_url: str, queue: str, org, day: date = DAY) -> None:
    with broker(redis_url):
        compute_exception_report.apply_async(
            kwargs={"organization_id": org.pk, "date": day.isoformat()},
            queue=queue,
            ignore_result=True,
        )


def lock_is_free(org) -> bool:
    """Whether another session could take the organisation's report lock right now."""
    key = _advisory_key(org.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        free = cursor.fetchone()[0]
        if free:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return free


def waiting_on_the_lock() -> int:
    """Sessions of this test database blocked on an advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
        )
        return cursor.fetchone()[0]


def test_the_report_task_acknowledges_late():
    """A task acknowledged on receipt would be lost with its worker; these are acknowledged
    when they finish, and a lost worker's task is handed on."""
    assert compute_exception_report.acks_late is True
    assert compute_exception_report.reject_on_worker_lost is True


def test_a_worker_killed_mid_report_is_redelivered_and_leaves_the_uninterrupted_report(
    services, organisation, tmp_path
):
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    paused, release = tmp_path / "paused", tmp_path / "release"
    triaged = triage(organisation)
    assert len(triaged) == 3
    send(services, queue, organisation)
    doomed = Worker(
        tmp_path,
        services,
        queue,
        "doomed",
        FAULTS_PAUSE_AFTER_CHUNK=3,
        FAULTS_PAUSED=paused,
        FAULTS_RELEASE=release,
        FAULTS_VISIBILITY_TIMEOUT=2,
    )
    try:
        doomed.wait_for(paused.exists, "pause after 3 chunks")
        # Mid-run: the worker holds the organisation's lock and nothing of its run is visible.
        assert not lock_is_free(organisation)
        assert state(organisation) is None
        doomed.kill()
    finally:
        doomed.stop()
    assert doomed.process.returncode == -signal.SIGKILL

    # Nothing half done: no report for the day, yesterday's triage intact, the lock released.
    assert state(organisation) is None
    assert triage(organisation) == triaged
    assert lock_is_free(organisation)

    # Nobody sends the task again: the unacknowledged message goes to the next worker.
    rescuer = Worker(tmp_path, services, queue, "rescuer", FAULTS_VISIBILITY_TIMEOUT=2)
    try:
        rescuer.wait_for(lambda: rescuer.succeeded() >= 1, "redelivered task succeeding")
    finally:
        rescuer.stop()
    assert "compute_exception_report" in rescuer.output()
    after_kill = state(organisation)
    assert after_kill is not None

    # The same day computed uninterrupted, in this process, leaves exactly the same.
    exception_report_compute(organization=organisation, date=DAY)
    assert state(organisation) == after_kill
    figures, line_count, lines, _ = after_kill
    assert figures[1] == line_count == len(lines) > 0
    kept = triage(organisation)
    for key, (status, assignee, note) in triaged.items():
        assert kept[key] == (status, assignee, note), key


def test_two_runs_for_one_organisation_and_day_do_not_interleave(services, organisation, tmp_path):
    queue = f"faults-{uuid.uuid4().hex[:10]}"
    paused, release = tmp_path / "paused", tmp_path / "release"
    first = Worker(
        tmp_path,
        services,
        queue,
        "first",
        FAULTS_PAUSE_AFTER_CHUNK=2,
        FAULTS_PAUSED=paused,
        FAULTS_RELEASE=release,
    )
    second = None
    try:
        send(services, queue, organisation)
        first.wait_for(paused.exists, "pause after 2 chunks")
        second = Worker(tmp_path, services, queue, "second")
        send(services, queue, organisation)
        # The second run waits on the organisation's lock while the first is mid-report.
        second.wait_for(lambda: waiting_on_the_lock() == 1, "second run waiting on the lock")
        assert state(organisation) is None
        release.touch()
        first.wait_for(lambda: first.succeeded() == 1, "first run succeeding")
        second.wait_for(lambda: second.succeeded() == 1, "second run succeeding")
    finally:
        release.touch()
        first.stop()
        if second is not None:
            second.stop()
    assert waiting_on_the_lock() == 0
    after_both = state(organisation)
    exception_report_compute(organization=organisation, date=DAY)
    assert state(organisation) == after_both
    figures, line_count, lines, _ = after_both
    assert figures[1] == line_count == len(lines) > 0  # one set of lines, none doubled
