"""The Celery app of the fault tests' worker: the real app (``scaling_ops.celery``) and real
tasks, with two test-only knobs read from the environment, because a kill "in the middle" has
to land in the middle every time:

- ``FAULTS_CHUNK_SIZE``: the exception report reads cases in chunks this small, so a small
  organisation still takes many chunks;
- ``FAULTS_PAUSE_AFTER_CHUNK`` with ``FAULTS_PAUSED`` / ``FAULTS_RELEASE`` (paths): after
  persisting that many chunks of its first report, the worker writes ``FAULTS_PAUSED`` and waits
  until ``FAULTS_RELEASE`` exists (the test kills it meanwhile, or releases it);
- ``FAULTS_VISIBILITY_TIMEOUT``: seconds before Redis hands an unacknowledged task to another
  worker (Celery's default is an hour).

Started by the tests as ``celery -A tests.faults.worker_app worker --pool=solo``."""

import os
import time
from pathlib import Path

import django

from scaling_ops.celery import app  # sets DJANGO_SETTINGS_MODULE

django.setup()

from pathways.services import exceptions  # noqa: E402

if os.environ.get("FAULTS_CHUNK_SIZE"):
    exceptions.exception_report_compute.__kwdefaults__["chunk_size"] = int(
        os.environ["FAULTS_CHUNK_SIZE"]
    )

if os.environ.get("FAULTS_PAUSE_AFTER_CHUNK"):
    _pause_after = int(os.environ["FAULTS_PAUSE_AFTER_CHUNK"])
    _persisted = [0]
    _chunk_persist = exceptions.chunk_persist

    def _pausing_persist_chunk(run, rows, evaluated):
        raised = _chunk_persist(run, rows, evaluated)
        _persisted[0] += 1
        if _persisted[0] == _pause_after:
            Path(os.environ["FAULTS_PAUSED"]).write_text(f"{run.date} chunk {_persisted[0]}")
            release = Path(os.environ["FAULTS_RELEASE"])
            deadline = time.monotonic() + 300
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return raised

    exceptions.chunk_persist = _pausing_persist_chunk  # the name the report's loop calls

if os.environ.get("FAULTS_VISIBILITY_TIMEOUT"):
    app.conf.broker_transport_options = {
        "visibility_timeout": int(os.environ["FAULTS_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }

__all__ = ["app"]
