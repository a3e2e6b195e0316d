"""The settings module fails loudly on bad values and is deploy-clean with HTTPS-ready env."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!k2m@q9#v4p$w8z&n3r6t1y5u0i-o_e+a=s*d(f)g[h]j{l}c;b:v<n>m?ab",
    "ALLOWED_HOSTS": "scaling-ops.example.org",
    "DATABASE_URL": "sqlite:///" + str(ROOT / "db-check.sqlite3"),
}


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; a deployment never has it.
    unwanted = {
        "DEBUG",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "STATIC_ROOT",
        "TRUSTED_PROXY_COUNT",
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_MINUTES",
        "LOGIN_SLOWDOWN_AFTER",
        "LOGIN_SLOWDOWN_MAX_SECONDS",
    }
    clean = {k: v for k, v in os.environ.items() if k not in unwanted}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def collected(static_root: Path) -> Path:
    """A STATIC_ROOT as collectstatic leaves it, as far as the settings' checks look: the
    manifest is there. (The real collectstatic runs in tests/deploy/test_production_smoke.py.)"""
    static_root.mkdir(parents=True, exist_ok=True)
    (static_root / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    return static_root


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(collected(tmp_path / "static"))}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_collectstatic_the_system_check_fails_naming_the_manifest_and_the_fix(tmp_path):
    env = {**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path / "never-collected")}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "scaling_ops.E001" in result.stderr
    assert f"{tmp_path / 'never-collected' / 'staticfiles.json'} is missing" in result.stderr
    assert "manage.py collectstatic --noinput" in result.stderr


def test_the_static_manifest_is_not_needed_with_debug_on(tmp_path):
    env = {**PRODUCTION_ENV, "DEBUG": "1", "STATIC_ROOT": str(tmp_path / "never-collected")}
    result = manage("check", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


SETTINGS_PROBE = """
import json
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
    "proxy_header": settings.SECURE_PROXY_SSL_HEADER,
    "trusted_proxies": settings.TRUSTED_PROXY_COUNT,
}))
"""


def probe_settings(env: dict) -> dict:
    result = manage("shell", "-c", SETTINGS_PROBE, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_debug_unset_means_production():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DEBUG"}
    seen = probe_settings(env)
    assert seen["debug"] is False
    assert seen["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_debug_unset_without_a_secret_key_says_how_to_run_on_a_laptop():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in {"DEBUG", "SECRET_KEY"}}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert "set DEBUG=1" in result.stderr


def test_the_proxy_header_is_trusted_only_behind_a_configured_proxy():
    assert probe_settings(PRODUCTION_ENV)["proxy_header"] is None
    behind_caddy = probe_settings({**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "1"})
    assert behind_caddy["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert behind_caddy["trusted_proxies"] == 1


@pytest.mark.parametrize(
    "value, message",
    [
        ("one", "TRUSTED_PROXY_COUNT='one' is not an integer"),
        ("-1", "TRUSTED_PROXY_COUNT=-1 must be 0 or more"),
    ],
)
def test_a_bad_proxy_count_names_the_variable(value, message):
    result = manage("check", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": value})
    assert result.returncode != 0
    assert message in result.stderr


def test_kept_database_connections_are_health_checked():
    # A connection the server dropped is replaced before the next request uses it (see
    # tests/deploy/test_connection_drop.py for the drop itself, on PostgreSQL).
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://app@db:5432/ops", "-c jit=off"),
        # Options of the URL's own are kept, JIT's added after them.
        ("postgres://app@db:5432/ops?options=-c%20statement_timeout%3D5000",
         "-c statement_timeout=5000 -c jit=off"),
    ],
)  # fmt: skip
def test_postgresql_connections_run_without_jit(url, expected):
    """Compiling took longer than running past the cost thresholds (the caseload and month
    reads): every connection from the settings, a worker's or Celery's too, has JIT off."""
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = manage("shell", "-c", show, env={"DEBUG": "1", "DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    assert f"'options': '{expected}'" in result.stdout


def test_sqlite_connections_get_no_postgresql_options():
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = manage("shell", "-c", show, env={"DEBUG": "1", "DATABASE_URL": "sqlite:///x.db"})
    assert result.returncode == 0, result.stderr
    assert "jit" not in result.stdout


def test_migrations_match_the_models_from_a_plain_shell():
    # Offline commands run without a secret or DEBUG: only serving and migrating need them.
    result = manage("makemigrations", "--check", "--dry-run", env={})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_gunicorns_entry_point_refuses_to_load_without_a_secret():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import scaling_ops.wsgi"],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_missing_secret_key_with_debug_off_fails_loudly():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_boolean_names_the_variable():
    result = manage("check", env={**PRODUCTION_ENV, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_email_url_configures_smtp_with_starttls():
    from scaling_ops.env import email_settings_from_url

    found = email_settings_from_url("smtp://mailer:s%40cret@mail.example.org:587?tls=1")
    assert found == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.org",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": "s@cret",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }
    assert email_settings_from_url("smtps://mail.example.org")["EMAIL_PORT"] == 465
    assert email_settings_from_url("file:///tmp/mail") == {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": "/tmp/mail",
    }


@pytest.mark.parametrize(
    "url",
    ["gopher://x", "smtp://", "smtp://host?tls=maybe", "smtp://host?tls=1&ssl=1", "smtp://h:x/"],
)
def test_a_bad_email_url_fails_loudly(url):
    from django.core.exceptions import ImproperlyConfigured

    from scaling_ops.env import email_settings_from_url

    with pytest.raises(ImproperlyConfigured):
        email_settings_from_url(url)


def test_the_login_slow_down_is_configured_from_the_environment():
    probe = (
        "from django.conf import settings; "
        "print(settings.LOGIN_SLOWDOWN_AFTER, settings.LOGIN_SLOWDOWN_MAX_SECONDS)"
    )
    env = {**PRODUCTION_ENV, "LOGIN_SLOWDOWN_AFTER": "3", "LOGIN_SLOWDOWN_MAX_SECONDS": "120"}
    result = manage("shell", "-c", probe, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["3", "120"]


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("LOGIN_SLOWDOWN_MAX_SECONDS", "0", "LOGIN_SLOWDOWN_MAX_SECONDS=0 must be 1 or more"),
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT=0 must be 1 or more"),
        ("AXES_COOLOFF_MINUTES", "0", "AXES_COOLOFF_MINUTES=0 must be 1 or more"),
    ],
)
def test_a_bad_login_limit_names_the_variable(name, value, message):
    result = manage("check", env={**PRODUCTION_ENV, name: value})
    assert result.returncode != 0
    assert message in result.stderr
