"""Security headers on every kind of response (pages, redirects, the API), and in production
settings HSTS, secure cookies and the HTTPS redirect. (`check --deploy` in production settings
is tested in tests/scaling_ops/test_settings.py.)"""

import json

import pytest
from django.test import Client

from tests.scaling_ops.test_settings import PRODUCTION_ENV, manage

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_hardened(response):
    for header, value in EXPECTED.items():
        assert response.headers.get(header) == value, (header, response.headers.get(header))


@pytest.mark.parametrize(
    "who, path, status",
    [
        (None, "/accounts/login/", 200),
        (None, "/o/acme/exceptions/", 302),
        ("supervisor", "/o/acme/", 200),
        ("supervisor", "/o/acme/exceptions/", 200),
        ("outsider", "/o/acme/", 404),
        (None, "/api/v1/exceptions/", 401),
    ],
)
def test_every_kind_of_response_carries_the_headers(personas, who, path, status):
    client = personas.client(getattr(personas, who)) if who else Client()
    response = client.get(path)
    assert response.status_code == status
    assert_hardened(response)


def test_the_session_cookie_is_http_only(personas):
    personas.supervisor.set_password("correct-horse-2026")
    personas.supervisor.save()
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": "sam", "password": "correct-horse-2026"}
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["httponly"] is True
    assert response.cookies["sessionid"]["samesite"] == "Lax"


PROBE = """
import json
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/accounts/login/", HTTP_HOST="scaling-ops.example.org")
secure = client.get("/api/v1/exceptions/", secure=True, HTTP_HOST="scaling-ops.example.org")
print(json.dumps({
    "plain": [plain.status_code, plain.headers.get("Location")],
    "secure": [secure.status_code, dict(secure.headers)],
    "cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,
                settings.SESSION_COOKIE_HTTPONLY],
}))
"""


def test_production_settings_send_hsts_redirect_to_https_and_secure_cookies():
    result = manage("shell", "-c", PROBE, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain"] == [301, "https://scaling-ops.example.org/accounts/login/"]
    status, headers = seen["secure"]
    assert status == 401
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    for header, value in EXPECTED.items():
        assert headers[header] == value
    assert seen["cookies"] == [True, True, True]


FORWARDED_PROBE = """
import json
from django.test import Client
client = Client()
claimed = client.get(
    "/api/v1/exceptions/", HTTP_HOST="scaling-ops.example.org", HTTP_X_FORWARDED_PROTO="https"
)
probe = client.get("/healthz/", HTTP_HOST="scaling-ops.example.org")
print(json.dumps({
    "claimed": [claimed.status_code, claimed.headers.get("Location")],
    "probe": probe.status_code,
}))
"""


def forwarded(env: dict) -> dict:
    result = manage("shell", "-c", FORWARDED_PROBE, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_client_sent_forwarded_proto_is_ignored_without_a_trusted_proxy():
    seen = forwarded(PRODUCTION_ENV)
    assert seen["claimed"] == [301, "https://scaling-ops.example.org/api/v1/exceptions/"]


def test_behind_a_trusted_proxy_its_forwarded_proto_is_believed():
    seen = forwarded({**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "1"})
    assert seen["claimed"] == [401, None]


def test_probes_over_plain_http_are_not_redirected():
    assert forwarded(PRODUCTION_ENV)["probe"] == 200
