"""The Celery app. Without REDIS_URL, tasks run eagerly in-process (the embedded default)."""

import logging
import os

from celery import Celery, Task
from celery.beat import PersistentScheduler
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


class QueueUnavailable(Exception):
    """The broker (Redis) could not be reached: the task was not queued and nothing changed."""


def enqueue(task: Task, **kwargs) -> None:
    """Sends ``task`` with keyword arguments, fire-and-forget (runs at once in eager mode).

    No result is kept: nothing reads one, and a dead result store would hold the caller for
    many seconds before failing. An unreachable broker raises ``QueueUnavailable`` after
    Celery's short publish retry, so callers can say so instead of failing with a 500."""
    try:
        task.apply_async(kwargs=kwargs, ignore_result=True)
    except BrokerError as error:
        raise QueueUnavailable(f"The task queue is unavailable: {error}") from error


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
