"""A kept database connection that the server drops (restart, failover, an idle-session kill)
costs no request: CONN_HEALTH_CHECKS replaces it at the start of the next one. Requests go
through Django's WSGI handler as gunicorn's sync workers call it, so the connection is kept
between them exactly as in production (the test client would close it)."""

import io

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory

from tests.faults.services import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def get(handler: WSGIHandler, path: str) -> tuple[str, bytes]:
    environ = RequestFactory().get(path).environ
    environ["wsgi.input"] = io.BytesIO()
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    response = handler(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        response.close()  # request_finished: where Django decides to keep the connection
    return seen["status"], body


def terminate(pid: int) -> None:
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    with psycopg2.connect(**params) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        # Wait until the backend is really gone, so the next request meets a dead socket.
        for _attempt in range(200):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if cursor.fetchone()[0] == 0:
                break
            admin.commit()
    admin.close()


def test_a_dropped_kept_connection_is_replaced_before_the_next_request():
    require_postgres()
    handler = WSGIHandler()
    status, body = get(handler, "/readyz/")
    assert status.startswith("200"), body
    assert connection.connection is not None, "the connection was not kept between requests"
    dropped = connection.connection.get_backend_pid()

    terminate(dropped)

    status, body = get(handler, "/readyz/")
    assert status.startswith("200"), body
    assert connection.connection.get_backend_pid() != dropped
