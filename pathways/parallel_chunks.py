"""Chunks of a computation evaluated in forked worker processes while the calling process takes
their results in order (issue 20). The engine is pure pandas and holds the GIL: on a machine with
several cores only processes evaluate chunks side by side. The caller keeps everything it writes
(one transaction, all or nothing): workers only read and evaluate, and send results back pickled.

Workers are forked (``fork``: no fresh interpreter, app and imports to load, unlike ``spawn``);
each inherits the loaded app, the definitions and the function that evaluates a chunk, so only a
chunk's rows go out and its result comes back. A forked child starts with copies of the
parent's database sockets: it closes its copies, keeps the inherited connection objects
referenced and unused (deallocating one would send the server a Terminate) and opens its own
connections. A worker dies with its parent. The parent holds no server-side cursor across the
fork (chunks are read into lists).

Workers read committed rows only, so the caller falls back to evaluating here when it runs
inside a caller's transaction (it could have written what a chunk reads), and also off
PostgreSQL, with one chunk, with ``COMPUTE_PROCESSES`` 1, or where the workers cannot be started
(a daemonic process off Linux, where nothing would end its workers with it)."""

import ctypes
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from django.conf import settings
from django.db import connection, connections

logger = logging.getLogger(__name__)

Chunk = TypeVar("Chunk")
Result = TypeVar("Result")

# Set in the parent only while it forks the workers: what they evaluate each chunk with. A fork
# inherits it, so it is not pickled.
_evaluate: Callable | None = None
# The parent's connections as a worker inherited them (by alias), their sockets closed in the
# worker: kept referenced until it exits (without interpreter teardown), since a deallocated
# psycopg2 connection sends a Terminate on its socket number (the parent's session before the
# close, or whatever the worker has opened on that number since).
_inherited: dict[str, object] = {}
_parent_pid: int | None = None
_fork_lock = threading.Lock()
PR_SET_PDEATHSIG = 1  # linux/prctl.h


DAEMONIC = "this process is daemonic, and daemonic processes may not have children"


def serial_reason(*, chunk_count: int, in_caller_transaction: bool) -> str | None:
    """Why the chunks are evaluated in this process, or None if workers may."""
    if settings.COMPUTE_PROCESSES <= 1:
        return "COMPUTE_PROCESSES is 1"
    if connection.vendor != "postgresql":
        return f"the database is {connection.vendor}"
    if chunk_count <= 1:
        return "one chunk"
    if in_caller_transaction:
        return "inside a caller's transaction, which workers cannot see"
    if multiprocessing.current_process().daemon and not ENDS_WITH_PARENT:
        # A Celery prefork child, or any multiprocessing pool's worker, off Linux.
        return DAEMONIC
    return None


# Linux ends a worker with its parent (PR_SET_PDEATHSIG, ``_end_with_parent``). That is what
# multiprocessing's rule "a daemonic process may not have children" guards against: a daemonic
# process is killed when its parent exits, and would leave its children orphaned. So on Linux a
# daemonic process, a Celery prefork child above all (where the beat's reports and snapshots
# run), forks its workers too: the rule is lifted for the fork only.
ENDS_WITH_PARENT = sys.platform.startswith("linux")


@contextmanager
def _children_allowed():
    process = multiprocessing.current_process()
    daemonic = process._config.get("daemon", False)
    process._config["daemon"] = False
    try:
        yield
    finally:
        process._config["daemon"] = daemonic


def evaluated(
    chunks: Iterable[Chunk],
    evaluate: Callable[[Chunk], Result],
    *,
    chunk_count: int,
    in_caller_transaction: bool,
) -> Iterator[tuple[Chunk, Result]]:
    """Each chunk with ``evaluate(chunk)``, in the chunks' order: computed by
    ``COMPUTE_PROCESSES`` forked workers when ``serial_reason`` gives none, else here. At most
    that many chunks are evaluated at once besides the one the caller holds, so memory stays
    bounded however many there are. ``evaluate`` must only read the database; a worker's
    connection is a fresh one from the settings. Close the iterator when leaving early
    (``contextlib.closing``): that stops the workers."""
    reason = serial_reason(chunk_count=chunk_count, in_caller_transaction=in_caller_transaction)
    if reason is None:
        yield from _in_workers(iter(chunks), evaluate)
    else:
        # A small report, SQLite or the settings is expected, a diagnostic only (else the demo's
        # 91 daily reports print it between their progress bars); a worker process that may not
        # fork, against the settings, is news to whoever runs it.
        level = logging.INFO if reason == DAEMONIC else logging.DEBUG
        logger.log(level, "Chunks evaluated in one process: %s", reason)
        yield from _here(chunks, evaluate)


def _here(chunks: Iterable[Chunk], evaluate: Callable[[Chunk], Result]):
    for chunk in chunks:
        yield chunk, evaluate(chunk)


def _in_workers(chunks: Iterator, evaluate: Callable):
    global _evaluate, _parent_pid
    workers = settings.COMPUTE_PROCESSES
    first = next(chunks, None)
    if first is None:
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
    )
    # The globals are what this pool's workers inherit: set only for the fork (another thread
    # may start a pool of its own).
    with _fork_lock:
        _evaluate, _parent_pid = evaluate, os.getpid()
        try:
            # Forks all the workers (with fork) or fails, before anything is handed out.
            with _children_allowed():
                pending = deque([(first, pool.submit(_evaluate_chunk, first))])
        except (AssertionError, OSError) as error:
            # The system refuses more processes, say.
            logger.warning("Chunks evaluated in one process: workers could not start (%s)", error)
            pool.shutdown(wait=False, cancel_futures=True)
            pending = None
        finally:
            _evaluate = None
    if pending is None:
        yield from _here([first], evaluate)
        yield from _here(chunks, evaluate)
        return
    logger.info("Chunks evaluated by %d worker processes", workers)
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(_evaluate_chunk, chunk)))
            while len(pending) > workers:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker() -> None:
    """In a forked worker: ended with its parent (a killed Celery worker must not leave workers
    waiting forever on their queue); the parent's connections set aside (their sockets closed
    here, the objects never used or deallocated), fresh ones in their place from the same
    settings, closed at exit."""
    _end_with_parent()
    for wrapper in connections.all(initialized_only=True):
        _inherited[wrapper.alias] = wrapper
        if wrapper.connection is not None:
            # This process's copy of the socket: open, it would keep the parent's session (its
            # transaction and locks) alive on the server after the parent died.
            os.close(wrapper.connection.fileno())
        connections[wrapper.alias] = type(wrapper)(dict(wrapper.settings_dict), wrapper.alias)
    multiprocessing.util.Finalize(None, connections.close_all, exitpriority=10)


def _evaluate_chunk(chunk):
    return _evaluate(chunk)


def _end_with_parent() -> None:
    """Asks Linux to kill this process when its parent ends (elsewhere nothing is asked). Linux
    means the forking thread: the caller's, which outlives the pool."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != _parent_pid:  # it ended before the request
        os._exit(1)
