"""A synthetic organisation big enough for many small chunks, and a spy on which processes
evaluated them: for the tests of chunks evaluated in worker processes
(``pathways.parallel_chunks``), which need committed rows (transactional tests on PostgreSQL)."""

import json
import multiprocessing
import os
from datetime import UTC, datetime

import pytest
from django.db import connection

from pathways import demo as pathway_demo
from pathways.services import bulk_load
from pathways.services.versions import pathway_version_import
from pathways.synthetic import Generator, SiteProfile
from scaling_ops import tenancy

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)
CHUNK = 25  # cases per chunk: the ~300 cases make a dozen chunks


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes evaluate chunks on PostgreSQL only")


def build_organisation(org) -> None:
    """~300 cases over January at North and South with slippage, the demo pathways active."""
    definitions = [
        json.loads((pathway_demo.FIXTURES / name).read_text())
        for name in pathway_demo.PATHWAY_FILES
    ]
    profiles = [
        SiteProfile("north", 5, 0.10, 0.30, missed_share=0.08),
        SiteProfile("south", 5, 0.15, 0.40, missed_share=0.10, language_gap_end=0.2),
    ]
    with tenancy.scope(org):
        for data in definitions:
            pathway_version_import(data=data, activate=True)
        cases, events = [], []
        for case, case_events in Generator(definitions, profiles, START, END, seed=8).cases():
            cases.append(case)
            events.extend(case_events)
        bulk_load.events_bulk_load(events=events, case_ids=bulk_load.cases_bulk_load(cases=cases))


class ProcessSpy:
    """Wraps a chunk function and records the id of each process that ran it, in memory shared
    with forked workers."""

    def __init__(self, function):
        self.function = function
        self.pids = multiprocessing.Array("i", 512, lock=False)
        self.count = multiprocessing.Value("i", 0)

    def __call__(self, *args, **kwargs):
        with self.count.get_lock():
            self.pids[self.count.value] = os.getpid()
            self.count.value += 1
        return self.function(*args, **kwargs)

    def processes(self) -> set[int]:
        return set(self.pids[: self.count.value])

    def clear(self) -> None:
        self.count.value = 0
