"""The compose shape and the proxy's configuration, proved without a container engine: the
compose file's structure (parsed, and by `docker compose config` / `docker-compose config` where
a client is installed) and the Caddyfile by Caddy's own validator (Debian's caddy package,
which .ci/run installs). Missing tools skip with the reason."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"
SERVICES = {"postgres", "redis", "web", "worker", "beat", "caddy"}
APP_SERVICES = ("web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_services_of_the_production_shape(compose):
    assert set(compose["services"]) == SERVICES


def test_every_service_has_a_healthcheck(compose):
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_web_worker_and_beat_are_probed_by_the_health_endpoints_and_command(compose):
    services = compose["services"]
    assert "http://127.0.0.1:8000/readyz/" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"][-3:] == ["manage.py", "health", "--worker"]
    assert services["beat"]["healthcheck"]["test"][-3:] == ["manage.py", "health", "--beat"]
    # The heartbeat --beat reads is written by this scheduler.
    assert "--scheduler=scaling_ops.celery:HeartbeatScheduler" in services["beat"]["command"]


def test_only_caddy_is_published(compose):
    for name, service in compose["services"].items():
        if name != "caddy":
            assert "ports" not in service, f"{name} publishes {service['ports']}"
    assert compose["services"]["caddy"]["ports"] == ["80:80", "443:443", "443:443/udp"]


def test_caddy_fronts_web_with_its_caddyfile_and_keeps_certificates(compose):
    caddy = compose["services"]["caddy"]
    assert caddy["image"] == "caddy:2"
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert {"caddydata:/data", "caddyconfig:/config"} <= set(caddy["volumes"])
    assert caddy["environment"]["SITE_ADDRESS"] == "${SITE_ADDRESS:-localhost}"


def test_the_app_trusts_exactly_one_proxy_and_runs_with_debug_off(compose):
    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["DEBUG"] == "0", name
        assert env["TRUSTED_PROXY_COUNT"] == "1", name
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), name
    # gunicorn reads its forwarded_allow_ips from TRUSTED_PROXY_COUNT in this file.
    assert "gunicorn -c gunicorn.conf.py" in compose["services"]["web"]["command"]


def test_volumes_keep_data_certificates_and_private_uploads(compose):
    assert set(compose["volumes"]) == {
        "pgdata",
        "redisdata",
        "caddydata",
        "caddyconfig",
        "privatemedia",
    }
    web = compose["services"]["web"]
    assert "privatemedia:/app/private-media" in web["volumes"]
    assert web["environment"]["PRIVATE_MEDIA_ROOT"] == "/app/private-media"


def test_the_image_collects_static_files_and_keeps_secrets_out():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "manage.py collectstatic --noinput" in dockerfile
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_image_runs_as_an_unprivileged_user_who_owns_only_private_media():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [
        line.split()[0] for line in dockerfile.splitlines() if line and line[0].isalpha()
    ]
    user_lines = [line for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert user_lines == ["USER scaling_ops"]
    # USER comes after every build step that needs root, so the served process is not root.
    assert instructions.index("USER") > max(
        index for index, word in enumerate(instructions) if word == "RUN"
    )
    assert "chown scaling_ops /app/private-media" in dockerfile


def compose_client() -> list[str]:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("no compose client (docker compose or docker-compose) is installed")


def compose_config(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "SITE_ADDRESS"}}
    return subprocess.run(
        [*compose_client(), "-f", str(COMPOSE), "config"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_compose_client_accepts_the_file_and_resolves_it():
    result = compose_config({"SECRET_KEY": "from-dot-env", "SITE_ADDRESS": "ops.example.org"})
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == SERVICES
    assert "ports" not in resolved["services"]["web"]
    assert resolved["services"]["caddy"]["environment"]["SITE_ADDRESS"] == "ops.example.org"
    assert resolved["services"]["web"]["environment"]["SECRET_KEY"] == "from-dot-env"


def test_the_compose_client_refuses_to_start_without_a_secret_key():
    result = compose_config({})
    assert result.returncode != 0
    assert "set SECRET_KEY in .env" in result.stderr


def caddy(*args: str, site_address: str | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("caddy")
    if not binary:
        pytest.skip("caddy is not installed (apt-get install caddy; .ci/run does)")
    env = {k: v for k, v in os.environ.items() if k != "SITE_ADDRESS"}
    if site_address:
        env["SITE_ADDRESS"] = site_address
    return subprocess.run(
        [binary, *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("site_address", [None, "ops.example.org"])
def test_caddy_validates_the_caddyfile(site_address):
    result = caddy("validate", site_address=site_address)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "site_address, host", [(None, "localhost"), ("ops.example.org", "ops.example.org")]
)
def test_caddy_serves_the_site_address_over_tls_and_proxies_to_web(site_address, host):
    result = caddy("adapt", site_address=site_address)
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)["apps"]["http"]["servers"]["srv0"]
    assert server["listen"] == [":443"]
    (route,) = server["routes"]
    assert route["match"] == [{"host": [host]}]
    proxies = [
        handler
        for sub in route["handle"]
        for inner in sub.get("routes", [])
        for handler in inner["handle"]
        if handler["handler"] == "reverse_proxy"
    ]
    assert [upstream["dial"] for upstream in proxies[0]["upstreams"]] == ["web:8000"]
