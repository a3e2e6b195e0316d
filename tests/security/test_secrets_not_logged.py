"""Secrets never reach a log record or a stored row: a partner key is printed once on the
command's stdout and otherwise exists only as its SHA-256; a failed (or locked-out) login's
password, and a wrong or right partner key sent to the API, appear in no log record at any
level, including the SQL debug log."""

import io
import logging

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.core.management import call_command
from django.db import connection
from django.test import Client

from scaling_ops import tenancy
from scaling_ops.models import PartnerKey

PASSWORD_TRIED = "Tr0ub4dor&3-not-his"


@pytest.fixture
def everything_logged(caplog):
    """Every record at DEBUG, SQL statements included (they are logged only on a debug cursor)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    previous = connection.force_debug_cursor
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = previous


def logged_text(caplog) -> str:
    """Each record's rendered message, its raw arguments and any traceback."""
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        parts.append(repr(getattr(record, "request", "")))
    return "\n".join(parts)


def sql_was_logged(caplog) -> bool:
    return any(record.name == "django.db.backends" for record in caplog.records)


def test_partner_key_creation_prints_the_key_once_and_logs_or_stores_only_its_hash(
    personas, everything_logged
):
    out = io.StringIO()
    call_command("create_partner_key", org="acme", name="EHR feed", sites="north", stdout=out)
    lines = out.getvalue().strip().splitlines()
    raw_key = lines[-1]
    assert raw_key.startswith("sok_") and len(raw_key) > 40
    assert out.getvalue().count(raw_key) == 1
    assert sql_was_logged(everything_logged)  # the SQL of the creation was logged...
    assert raw_key not in logged_text(everything_logged)  # ...without the key
    secret = raw_key.rsplit("_", 1)[1]
    assert secret not in logged_text(everything_logged)
    with tenancy.scope(personas.org):
        stored = PartnerKey.objects.get(name="EHR feed")
        rows = [str(value) for value in PartnerKey.objects.values().get(pk=stored.pk).values()]
        history = [str(v) for row in stored.history.values() for v in row.values()]
    assert not any(secret in value for value in rows + history)
    assert stored.secret_hash == PartnerKey.hash_secret(raw_key)


def test_a_failed_login_never_logs_or_stores_the_password(personas, everything_logged):
    client = Client()
    for _ in range(6):  # past the lockout, so the lockout path is covered too
        client.post("/accounts/login/", {"username": "sam", "password": PASSWORD_TRIED})
    text = logged_text(everything_logged)
    assert "login failure" in text.lower()  # axes did log each failure...
    assert sql_was_logged(everything_logged)
    assert PASSWORD_TRIED not in text
    stored = [
        str(value)
        for model in (AccessAttempt, AccessFailureLog)
        for row in model.objects.values()
        for value in row.values()
    ]
    assert stored  # the attempts were recorded...
    assert not any(PASSWORD_TRIED in value for value in stored)  # ...without the password


def test_a_successful_login_does_not_log_the_password(personas, everything_logged):
    personas.supervisor.set_password(PASSWORD_TRIED)
    personas.supervisor.save()
    everything_logged.clear()
    response = Client().post("/accounts/login/", {"username": "sam", "password": PASSWORD_TRIED})
    assert response.status_code == 302
    assert PASSWORD_TRIED not in logged_text(everything_logged)


def test_partner_keys_sent_to_the_api_are_not_logged(personas, everything_logged):
    from scaling_ops import services

    with tenancy.scope(personas.org):
        _, raw_key = services.partner_key_create(name="feed", sites=[personas.north])
    wrong = raw_key[:-6] + "XXXXXX"
    client = Client()
    refused = client.get("/api/v1/exceptions/", HTTP_AUTHORIZATION=f"Bearer {wrong}")
    assert refused.status_code in (401, 403)
    served = client.get("/api/v1/exceptions/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert served.status_code < 500
    text = logged_text(everything_logged)
    assert sql_was_logged(everything_logged)
    assert raw_key.rsplit("_", 1)[1] not in text
    assert wrong.rsplit("_", 1)[1] not in text
