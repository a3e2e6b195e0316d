"""Health of the running shape: what the readiness endpoint, the static-manifest system check and
``manage.py health`` (the worker's and beat's compose healthchecks) ask.

Each probe returns ``None`` when healthy, else a sentence saying what is wrong and how to fix it.
Sentences name the failing part but not the error's own text (hosts, users), because
``/readyz/`` is reachable from outside through the proxy; the full error goes to the log."""

import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core import checks
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

logger = logging.getLogger(__name__)

BEAT_HEARTBEAT_KEY = "scaling_ops:beat-heartbeat"
# A dead beat's last heartbeat expires, so "never seen" and "long gone" read alike after a day.
BEAT_HEARTBEAT_TTL_SECONDS = 24 * 60 * 60


def static_manifest_problem() -> str | None:
    """With DEBUG off the static storage hashes names (settings.STORAGES) and every page links
    them through the manifest collectstatic writes; without it each page is a 500. Asked of the
    storage, not of DEBUG, because the test runner turns DEBUG off at run time."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None
    manifest = Path(staticfiles_storage.path(staticfiles_storage.manifest_name))
    if manifest.is_file():
        return None
    return (
        f"The static manifest {manifest} is missing, so every page would fail with DEBUG off: "
        "run `manage.py collectstatic --noinput` (the Docker image does it at build time)."
    )


def production_settings_problem() -> str | None:
    """What a served process cannot run without once DEBUG is off (settings.py leaves the
    refusal to this check, so offline commands still run)."""
    problems = []
    try:
        settings.SECRET_KEY  # noqa: B018  (Django refuses to hand out an empty one)
    except ImproperlyConfigured:
        problems.append(
            "SECRET_KEY must be set when DEBUG is off (DEBUG is off unless set; "
            "for a laptop run without a secret, set DEBUG=1)."
        )
    if not settings.ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must list the served host names when DEBUG is off.")
    return " ".join(problems) or None


def production_settings_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problem = production_settings_problem()
    if problem is None:
        return []
    return [checks.Error(problem, id="scaling_ops.E002")]


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("readiness: the database did not answer")
        return "The database does not answer a query: check DATABASE_URL and the server."
    return None


def redis_problem() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
    except redis.RedisError:
        logger.exception("readiness: Redis did not answer")
        return "Redis does not answer a ping: check REDIS_URL and the server."
    return None


def readiness() -> dict[str, str | None]:
    """Every readiness probe of the web process by the name a person reads."""
    return {
        "settings": production_settings_problem(),
        "database": database_problem(),
        "static manifest": static_manifest_problem(),
        "redis": redis_problem(),
    }


def static_manifest_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    problem = static_manifest_problem()
    if problem is None:
        return []
    return [
        checks.Error(
            problem,
            hint="Set STATIC_ROOT to where collectstatic wrote, or run it there.",
            id="scaling_ops.E001",
        )
    ]


def beat_heartbeat_record() -> None:
    cache.set(BEAT_HEARTBEAT_KEY, timezone.now(), timeout=BEAT_HEARTBEAT_TTL_SECONDS)


def beat_problem(*, max_age: timedelta) -> str | None:
    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        return "Celery beat has left no heartbeat: is it running with the HeartbeatScheduler?"
    age = timezone.now() - last
    if age > max_age:
        minutes = int(age.total_seconds() // 60)
        return (
            f"Celery beat's last heartbeat is {minutes} minutes old "
            f"(more than {int(max_age.total_seconds() // 60)}): beat has stopped ticking."
        )
    return None


def worker_problem(*, node: str, timeout: float) -> str | None:
    if not settings.REDIS_URL:
        return "REDIS_URL is not set: tasks run in-process and there is no worker to ask."
    from kombu.exceptions import OperationalError

    from scaling_ops.celery import app

    try:
        replies = app.control.ping(destination=[node], timeout=timeout)
    except (OperationalError, OSError):
        logger.exception("health: the broker did not answer")
        return "The broker (Redis) cannot be reached: check REDIS_URL and the server."
    if not any(node in reply for reply in replies):
        return f"The Celery worker {node} did not answer a ping within {timeout:g} s."
    return None
