"""The monthly snapshot with its chunks evaluated in forked worker processes
(``COMPUTE_PROCESSES`` 2) stores exactly the values the serial computation (1) stores."""

import os
from datetime import UTC, date, datetime

import pytest

from assurance.models import SnapshotValue
from assurance.services import assurance_snapshot_compute
from assurance.services import snapshots as snapshot_service
from scaling_ops import tenancy
from tests.pathways.parallel_helpers import (
    CHUNK,
    ProcessSpy,
    build_organisation,
    require_postgres,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MONTH, NOW = date(2026, 1, 1), datetime(2026, 2, 5, 12, tzinfo=UTC)
VALUE_FIELDS = [
    field.attname
    for field in SnapshotValue._meta.concrete_fields
    if field.attname not in ("id", "snapshot_id")
]


def values(org, settings, processes: int) -> list[tuple]:
    settings.COMPUTE_PROCESSES = processes
    with tenancy.scope(org):
        snapshots = assurance_snapshot_compute(
            organization=org, month=MONTH, now=NOW, chunk_size=CHUNK
        )
        return sorted(
            SnapshotValue.objects.filter(snapshot__in=snapshots).values_list(
                "snapshot__site__code", *VALUE_FIELDS
            ),
            key=repr,
        )


def test_chunks_evaluated_in_workers_store_what_one_process_stores(personas, settings, monkeypatch):
    require_postgres()
    build_organisation(personas.org)
    spy = ProcessSpy(snapshot_service._frames)
    monkeypatch.setattr(snapshot_service, "_frames", spy)
    parallel = values(personas.org, settings, 2)
    workers = spy.processes()
    serial = values(personas.org, settings, 1)
    assert workers and os.getpid() not in workers
    assert spy.count.value > 4  # several chunks each way
    assert len(parallel) > 100
    assert parallel == serial
