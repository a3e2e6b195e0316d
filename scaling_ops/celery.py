"""The Celery app. Without REDIS_URL, tasks run eagerly in-process (the embedded default)."""

import logging
import os

from celery import Celery, Task, shared_task
from celery.beat import PersistentScheduler
from celery.result import EagerResult
from django.db import OperationalError, transaction
from kombu.exceptions import OperationalError as BrokerError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scaling_ops.settings")

app = Celery("scaling_ops")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TenantTask(Task):
    """Base for every per-organisation task: takes ``organization_id`` and re-enters its scope,
    so a task body queries exactly as a request for that organisation would."""

    abstract = True
    acks_late = True
    reject_on_worker_lost = True

    def __call__(self, *args, organization_id: int, **kwargs):
        from scaling_ops import tenancy

        with tenancy.isolated(), tenancy.scope(organization_id):
            return super().__call__(*args, organization_id=organization_id, **kwargs)


def tenant_task(function):
    """Declares a per-organisation task (``TenantTask``): it runs with ``organization_id=``
    bound, and a transient database error (a failover, a dropped connection) retries it with
    backoff instead of losing the work."""
    return shared_task(
        base=TenantTask, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
    )(function)


class QueueUnavailable(Exception):
    """The broker (Redis) could not be reached: the task was not queued and nothing changed."""


def enqueue(task: Task, **kwargs) -> bool:
    """Sends ``task`` with keyword arguments once the surrounding transaction commits (at once
    outside one), fire-and-forget. Returns True when the task has already run in this process
    (eager mode), so a caller can say "recomputed" rather than "queued".

    After the commit, so a worker never reads rows the request has not committed yet; an eager
    task runs at once, on the caller's own connection, which sees them already. No result
    is kept: nothing reads one, and a dead result store would hold the caller for many seconds
    before failing. An unreachable broker raises ``QueueUnavailable`` after Celery's short
    publish retry, so callers can say so instead of failing with a 500."""
    ran_inline = False

    def send() -> None:
        nonlocal ran_inline
        try:
            result = task.apply_async(kwargs=kwargs, ignore_result=True)
        except BrokerError as error:
            raise QueueUnavailable(f"The task queue is unavailable: {error}") from error
        ran_inline = isinstance(result, EagerResult)

    if not task.app.conf.task_always_eager and transaction.get_connection().in_atomic_block:
        transaction.on_commit(send)
    else:
        send()  # without asking the database: a sender with no connection open needs none
    return ran_inline


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's scheduler that leaves a heartbeat in the cache on every tick, which
    ``manage.py health --beat`` reads (compose's healthcheck for beat). Run beat with
    ``--scheduler scaling_ops.celery:HeartbeatScheduler``."""

    # Beat sleeps until the next job is due, up to 15 minutes here; waking every minute keeps
    # the heartbeat well inside the health check's window.
    max_interval = 60

    def tick(self, *args, **kwargs):
        from scaling_ops import health

        try:
            health.beat_heartbeat_record()
        except Exception:
            # A cache outage must not stop the schedule; the stale heartbeat reports it.
            logging.getLogger(__name__).exception("beat heartbeat not recorded")
        return super().tick(*args, **kwargs)
