"""The Celery tasks: the per-organisation report task (thin, via the service) and the beat task
that queues each organisation's report once its local day has ended."""

import os
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from pathways.models import ExceptionReport
from pathways.services.exceptions import exception_report_compute
from pathways.tasks import compute_due_exception_reports, compute_exception_report
from scaling_ops import tenancy
from tests.faults.services import broker, database_url, require_redis
from tests.pathways.exception_helpers import DAY, build_version, lines_of, overdue_case
from tests.pathways.parallel_helpers import CHUNK, build_organisation, require_postgres


@pytest.fixture
def data(personas, tenant):
    version = build_version()
    overdue_case(version, personas.north, "C-1")


def reports(org) -> list[date]:
    with tenancy.scope(org):
        return list(ExceptionReport.objects.order_by("date").values_list("date", flat=True))


def test_task_delay_computes_the_report_in_eager_mode(personas, data):
    with tenancy.isolated():
        result = compute_exception_report.delay(organization_id=personas.org.pk, date="2026-03-02")
    assert result.get()["items"] == 1
    assert reports(personas.org) == [DAY]


def test_beat_task_queues_yesterday_for_each_organisation_once(
    personas, data, django_capture_on_commit_callbacks
):
    with tenancy.isolated(), django_capture_on_commit_callbacks(execute=True):
        queued = compute_due_exception_reports()
        again = compute_due_exception_reports()
    yesterday_acme = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    assert f"acme {yesterday_acme.isoformat()}" in queued
    assert {entry.split()[0] for entry in queued} == {"acme", "globex"}
    assert again == []
    assert reports(personas.org) == [yesterday_acme]


def test_beat_task_skips_an_organisation_whose_report_is_current(
    personas, data, django_capture_on_commit_callbacks
):
    yesterday = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    with tenancy.isolated(), django_capture_on_commit_callbacks(execute=True):
        compute_exception_report.delay(organization_id=personas.org.pk, date=yesterday.isoformat())
        queued = compute_due_exception_reports()
    assert [entry.split()[0] for entry in queued] == ["globex"]


def test_beat_task_uses_each_organisations_local_date(personas, data):
    personas.org.time_zone = "Pacific/Kiritimati"  # UTC+14: its day starts first
    personas.org.save(update_fields=["time_zone"])
    with tenancy.isolated():
        queued = compute_due_exception_reports()
    local = timezone.localdate(timezone=personas.org.zone) - timedelta(days=1)
    assert f"acme {local.isoformat()}" in queued


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("celery_worker")
def test_a_prefork_worker_child_computes_a_full_report_in_worker_processes(personas, tmp_path):
    """A Celery prefork child is daemonic, but on Linux its workers end with it: a full report
    (many chunks, COMPUTE_PROCESSES 2) is computed there by worker processes, and leaves what a
    computation here leaves."""
    require_postgres()
    redis_url = require_redis()
    build_organisation(personas.org)
    queue = f"prefork-{uuid.uuid4().hex[:10]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "FAULTS_CHUNK_SIZE": str(CHUNK),
        "COMPUTE_PROCESSES": "2",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    command = [str(Path(sys.executable).with_name("celery")), "-A", "tests.faults.worker_app"]
    command += ["worker", "--pool=prefork", "--concurrency=1", "-Q", queue, "--loglevel=INFO"]
    command += ["-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with broker(redis_url):
        compute_exception_report.apply_async(
            kwargs={"organization_id": personas.org.pk, "date": "2026-01-30"},
            queue=queue,
            ignore_result=True,
        )
    with log.open("w") as output:
        worker = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while "succeeded in" not in log.read_text():
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert "Chunks evaluated by 2 worker processes" in log.read_text()
    with tenancy.scope(personas.org):
        report = ExceptionReport.objects.get(date=date(2026, 1, 30))
        assert report.cases_evaluated > CHUNK
        in_worker = (report.item_count, report.case_count, lines_of(report))
        again = exception_report_compute(
            organization=personas.org, date=date(2026, 1, 30), full=True, chunk_size=CHUNK
        )
        assert (again.item_count, again.case_count, lines_of(again)) == in_worker
