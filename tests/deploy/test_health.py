"""Health of web, worker and beat: /healthz/, /readyz/ and ``manage.py health --worker/--beat``
(the compose healthchecks). Tests needing a real Redis are marked and skip with the reason."""

import os
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from scaling_ops import health
from scaling_ops.celery import HeartbeatScheduler
from scaling_ops.celery import app as celery_app
from tests.faults.services import closed_port, require_redis

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_liveness_answers_anonymously_and_is_never_cached():
    response = Client().get("/healthz/")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-store" in response["Cache-Control"]


def test_readiness_is_200_when_everything_answers(db):
    response = Client().get("/readyz/")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready"}
    assert "no-store" in response["Cache-Control"]


def production_static(settings, static_root: Path) -> None:
    """The static storage of DEBUG off (hashed names from collectstatic's manifest)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.STATIC_ROOT = static_root


def test_readiness_without_collectstatic_is_503_naming_the_static_manifest(db, settings, tmp_path):
    production_static(settings, tmp_path / "never-collected")
    response = Client().get("/readyz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert list(body["failed"]) == ["static manifest"]
    assert "manage.py collectstatic --noinput" in body["failed"]["static manifest"]


def test_readiness_accepts_a_collected_static_root(db, settings, tmp_path):
    production_static(settings, tmp_path)
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    assert Client().get("/readyz/").status_code == 200


def test_readiness_names_an_unreachable_redis(db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = Client().get("/readyz/")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["redis"]
    assert "REDIS_URL" in response.json()["failed"]["redis"]


class RefusingConnection:
    def cursor(self):
        raise OperationalError("connection refused")


def test_readiness_names_a_database_that_does_not_answer(db, monkeypatch):
    monkeypatch.setattr(health, "connection", RefusingConnection())
    response = Client().get("/readyz/")
    assert response.status_code == 503
    failed = response.json()["failed"]
    assert list(failed) == ["database"]
    # Reachable from outside through the proxy: the sentence, not the driver's message.
    assert "connection refused" not in failed["database"]


@pytest.mark.redis
def test_readiness_pings_the_real_redis(db, settings):
    settings.REDIS_URL = require_redis()
    assert health.redis_problem() is None


def beat_scheduler(tmp_path) -> HeartbeatScheduler:
    return HeartbeatScheduler(app=celery_app, schedule_filename=str(tmp_path / "beat-schedule"))


def test_beat_ticks_leave_a_heartbeat_the_health_command_reads(tmp_path, capsys):
    with pytest.raises(CommandError, match="Celery beat has left no heartbeat"):
        call_command("health", "--beat")
    scheduler = beat_scheduler(tmp_path)
    try:
        # It wakes at least every minute, inside the command's default five-minute window.
        assert scheduler.tick() <= 60
    finally:
        scheduler.close()
    call_command("health", "--beat")
    assert "heartbeat is fresh" in capsys.readouterr().out


def test_a_stale_beat_heartbeat_fails_the_health_command():
    cache.set(health.BEAT_HEARTBEAT_KEY, timezone.now() - timedelta(minutes=12))
    with pytest.raises(CommandError, match="last heartbeat is 12 minutes old"):
        call_command("health", "--beat")
    call_command("health", "--beat", "--max-age-minutes", "15")


def test_a_cache_outage_does_not_stop_beat(tmp_path, monkeypatch):
    def fail():
        raise ConnectionError("cache down")

    monkeypatch.setattr(health, "beat_heartbeat_record", fail)
    scheduler = beat_scheduler(tmp_path)
    try:
        assert scheduler.tick() <= 60
    finally:
        scheduler.close()


def test_the_worker_check_without_redis_says_there_is_no_worker(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("health", "--worker")


@pytest.mark.redis
def test_beat_health_across_processes_through_redis(tmp_path, settings):
    require_redis()
    # The suite's cache is Redis exactly when REDIS_URL was set before the settings were read.
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    # The command's process knows nothing of this xdist worker's cache key prefix: the
    # heartbeat is written under the keys production uses.
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": ""}}
    scheduler = beat_scheduler(tmp_path)
    try:
        scheduler.tick()
    finally:
        scheduler.close()
    result = manage("health", "--beat")
    assert result.returncode == 0, result.stdout + result.stderr
    cache.delete(health.BEAT_HEARTBEAT_KEY)
    result = manage("health", "--beat")
    assert result.returncode == 1
    assert "Celery beat has left no heartbeat" in result.stderr


@pytest.mark.redis
def test_the_worker_check_pings_this_hosts_worker(tmp_path):
    redis_url = require_redis()
    node = f"health-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    env = {**os.environ, "REDIS_URL": redis_url}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scaling_ops",
            "worker",
            "--pool=solo",
            "-n",
            node,
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The worker takes a few seconds to start; each attempt waits up to 5 s for a pong.
        for _attempt in range(12):
            answered = manage("health", "--worker", "--node", node, env={"REDIS_URL": redis_url})
            if answered.returncode == 0:
                break
        assert answered.returncode == 0, answered.stdout + answered.stderr
        assert f"The Celery worker {node} answered." in answered.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    gone = manage(
        "health", "--worker", "--node", node, "--timeout", "1", env={"REDIS_URL": redis_url}
    )
    assert gone.returncode == 1
    assert f"The Celery worker {node} did not answer a ping within 1 s." in gone.stderr


@pytest.mark.parametrize("path", ["/healthz/", "/readyz/"])
@pytest.mark.parametrize("who", ["outsider", "commissioner", None])
def test_the_probes_are_public_read_only_and_carry_no_tenant_data(personas, path, who):
    # Outside /o/<org>/ by design: probes hold no login. They show no organisation's data
    # to anyone, and no one can write through them (405, whatever the role).
    client = personas.client(getattr(personas, who)) if who else Client()
    response = client.get(path)
    assert response.status_code == 200
    assert personas.org.name.encode() not in response.content
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)(path).status_code == 405
