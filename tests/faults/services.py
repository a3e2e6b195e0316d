"""What the fault tests need from the machine, and the skips (with the reason printed, via
``-ra``) when it is not there: a PostgreSQL ``DATABASE_URL`` and a reachable ``REDIS_URL``."""

import os
import socket
from contextlib import contextmanager
from urllib.parse import urlparse

import pytest
from django.db import connection
from kombu import pools

from scaling_ops.celery import app as celery_app


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            f"needs PostgreSQL: DATABASE_URL is {os.environ.get('DATABASE_URL') or 'unset'} "
            "(e.g. postgres://postgres@127.0.0.1:5432/scaling_ops_faults)"
        )


def require_redis() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("needs Redis: REDIS_URL is unset (e.g. redis://127.0.0.1:6379/5)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"needs Redis: {url} does not answer ({error})")
    return url


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test database), for a
    worker in another process."""
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings["PASSWORD"] else ""
    host = settings["HOST"] or "127.0.0.1"
    return (
        f"postgres://{settings['USER']}{password}@{host}:{settings['PORT'] or 5432}"
        f"/{settings['NAME']}"
    )


def _reset_producer_pools() -> None:
    """The app caches its broker connections; a changed broker URL needs new ones."""
    pools.reset()  # closes and forgets kombu's shared pools
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    """Sends tasks to the broker at ``url`` for real (not eagerly) while inside."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_always_eager)
    conf.broker_url, conf.task_always_eager = url, False
    _reset_producer_pools()
    try:
        yield
    finally:
        conf.broker_url, conf.task_always_eager = saved
        _reset_producer_pools()


def redis_host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 6379
