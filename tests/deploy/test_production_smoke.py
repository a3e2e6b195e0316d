"""The production settings served for real: DEBUG off, collectstatic, a migrated database,
gunicorn with compose's configuration (gunicorn.conf.py, the HTTPS redirect on, one trusted
proxy), requests over 127.0.0.1 carrying X-Forwarded-Proto: https as Caddy sends them. A second
gunicorn without collected static files and without a trusted proxy shows what the readiness
check and the redirect do then. No container engine is needed (CI has none)."""

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.faults.services import closed_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "smoke-test-pass-2026"
ORG_NAME = "Smoke Community Services"
HTTPS = {"X-Forwarded-Proto": "https"}

SETUP = f"""
import json
from django.contrib.auth import get_user_model
from pathways import demo
from pathways.services.versions import pathway_version_import
from scaling_ops import services, tenancy
from scaling_ops.models import Role

org, sites = services.organization_create_or_update(
    slug="smoke", name="{ORG_NAME}", time_zone="Europe/London", sites=["north"]
)
user = get_user_model().objects.create_user("lead", password="{PASSWORD}")
services.membership_set(user=user, organization=org, role=Role.ORG_ADMIN, all_sites=True)
with tenancy.scope(org):
    data = json.loads((demo.FIXTURES / "hospital-to-home.json").read_text())
    pathway_version_import(data=data, activate=True)
"""


def production_env(tmp: Path, *, static_root: Path, trusted_proxies: int) -> dict:
    # The machine's settings must not leak in: this is the environment compose gives web.
    unwanted = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return {
        **clean,
        "DEBUG": "0",
        "SECRET_KEY": "smoke-x7!k2m@q9#v4p$w8z&n3r6t1y5u0i-o_e+a=s*d(f)g[h]j{l}c;b:v<n>m?",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "STATIC_ROOT": str(static_root),
        "PRIVATE_MEDIA_ROOT": str(tmp / "private-media"),
        "SECURE_SSL_REDIRECT": "1",
        "TRUSTED_PROXY_COUNT": str(trusted_proxies),
    }


def run(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, f"{process.args}\n{out}\n{err}"
    return out


@dataclass
class Server:
    base: str
    process: subprocess.Popen
    log: Path
    cookies: dict = field(default_factory=dict)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        # The session and CSRF cookies are Secure: a client over plain http would drop them,
        # Caddy's clients hold them over https. Kept by hand here.
        headers = {**HTTPS, **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(
            method, self.base + path, headers=headers, allow_redirects=False, timeout=30, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        return response


def start_gunicorn(env: dict, log: Path) -> Server:
    port = closed_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",  # as compose runs it
                "scaling_ops.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(base=f"http://127.0.0.1:{port}", process=process, log=log)
    # Up to about a minute for the workers to import the project on a busy machine.
    for _attempt in range(240):
        assert process.poll() is None, f"gunicorn exited:\n{log.read_text()}"
        try:
            if requests.get(server.base + "/healthz/", timeout=2).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.25)
    process.terminate()
    raise AssertionError(f"gunicorn did not answer /healthz/:\n{log.read_text()}")


def stop(server: Server) -> None:
    server.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
    server.process.wait(timeout=30)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """collectstatic and migrate (in parallel, as the image build and compose's start do them
    at different times), then a user, an active pathway and a partner key."""
    tmp = tmp_path_factory.mktemp("production")
    env = production_env(tmp, static_root=tmp / "static", trusted_proxies=1)
    collect = run(["collectstatic", "--noinput", "-v", "0"], env)
    # The checks run with the next command; the manifest is only being written now.
    migrate = run(["migrate", "--noinput", "--skip-checks", "-v", "0"], env)
    finish(collect)
    finish(migrate)
    finish(run(["shell", "-c", SETUP], env))
    key_output = finish(
        run(
            ["create_partner_key", "--org", "smoke", "--name", "North EHR", "--sites", "north"], env
        )
    )
    return tmp, key_output.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(built):
    tmp, _key = built
    env = production_env(tmp, static_root=tmp / "static", trusted_proxies=1)
    server = start_gunicorn(env, tmp / "gunicorn.log")
    yield server
    stop(server)


@pytest.fixture(scope="module")
def bare_server(built):
    """gunicorn straight on the network: no proxy trusted, static files never collected."""
    tmp, _key = built
    env = production_env(tmp, static_root=tmp / "never-collected", trusted_proxies=0)
    server = start_gunicorn(env, tmp / "gunicorn-bare.log")
    yield server
    stop(server)


def test_the_login_page_and_its_hashed_static_files_load(server):
    page = server.request("GET", "/accounts/login/")
    assert page.status_code == 200, page.text[:500]
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert "/static/css/app.css" not in assets
    assert any(re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", a) for a in assets), assets
    for asset in assets:
        assert server.request("GET", asset).status_code == 200, asset


def test_logging_in_through_the_form_reaches_the_organisation(server):
    form = server.request("GET", "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)[1]
    assert "csrftoken" in server.cookies
    login = server.request(
        "POST",
        "/accounts/login/",
        data={"username": "lead", "password": PASSWORD, "csrfmiddlewaretoken": token},
        # What the browser sends through Caddy: an https origin of this host.
        headers={"Origin": server.base.replace("http://", "https://")},
    )
    assert login.status_code == 302, login.text[:500]
    assert "sessionid" in server.cookies
    home = server.request("GET", login.headers["Location"])
    assert home.status_code == 302
    assert home.headers["Location"] == "/o/smoke/"
    page = server.request("GET", "/o/smoke/")
    assert page.status_code == 200
    assert ORG_NAME in page.text


def test_the_api_answers_401_json_without_a_key_and_200_with_one(built, server):
    _tmp, key = built
    anonymous = requests.get(server.base + "/api/v1/exceptions/", headers=HTTPS, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"] == "application/json"
    assert anonymous.json()

    bearer = {**HTTPS, "Authorization": f"Bearer {key}"}
    referral_at = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    case = {
        "site": "north",
        "pathway": "hospital-to-home",
        "referral_at": referral_at,
        "risk_tier": "high",
    }
    url = server.base + "/api/v1/cases/SMOKE-1/"
    created = requests.put(url, json=case, headers=bearer, timeout=30)
    assert created.status_code == 201, created.text
    read = requests.get(url, headers=bearer, timeout=30)
    assert read.status_code == 200, read.text
    assert read.json()["site"] == "north"


def test_readiness_is_200_with_collected_static_files(server):
    ready = server.request("GET", "/readyz/")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}


def test_without_collectstatic_readiness_is_503_naming_the_static_manifest(bare_server):
    ready = requests.get(bare_server.base + "/readyz/", timeout=30)
    assert ready.status_code == 503
    failed = ready.json()["failed"]
    assert list(failed) == ["static manifest"]
    assert "staticfiles.json is missing" in failed["static manifest"]
    assert "collectstatic" in failed["static manifest"]


def test_without_a_trusted_proxy_a_client_sent_forwarded_proto_is_ignored(bare_server):
    # gunicorn itself would believe it from 127.0.0.1 by default: gunicorn.conf.py stops that.
    claimed = requests.get(
        bare_server.base + "/accounts/login/", headers=HTTPS, allow_redirects=False, timeout=30
    )
    assert claimed.status_code == 301
    assert claimed.headers["Location"] == bare_server.base.replace("http", "https") + (
        "/accounts/login/"
    )
