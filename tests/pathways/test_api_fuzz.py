"""Schemathesis against the served OpenAPI schema, with a real partner key: no 5xx, every answer
matches the schema, and generated invalid input is refused with a 4xx. Bounded and derandomised
so that a run is reproducible and quick."""

from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import DataGenerationMethod, checks

from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from scaling_ops.wsgi import application
from tests.pathways.api_helpers import case_payload, partner_client
from tests.pathways.exception_helpers import DAY, build_version, overdue_case


@contextmanager
def database_connection_kept():
    """schemathesis calls the real WSGI handler, whose request signals would close the test's
    database connection (and its transaction) on PostgreSQL; Django's test client disconnects
    them around each request in the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db):
    with database_connection_kept():
        return schemathesis.from_wsgi(
            "/api/v1/schema/",
            application,
            data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
        )


schema = schemathesis.from_pytest_fixture("api_schema")
CHECKS = (
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
)


@pytest.fixture
def partner_headers(personas):
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "C-1")
        exception_report_compute(organization=personas.org, date=DAY)
    client = partner_client(personas.org, [personas.north])
    # A second pathway slug the generator cannot guess is fine: most bodies name unknown ones.
    assert client.put("/api/v1/cases/C-2/", case_payload(), format="json").status_code == 201
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_partner_api_honours_its_schema(case, partner_headers):
    with database_connection_kept():
        response = case.call_wsgi(headers=partner_headers)
    # Authentication is proved route by route in tests/scaling_ops/test_api_walk.py; schemathesis'
    # ignored-auth check cannot take away a key given as a header here.
    case.validate_response(response, checks=CHECKS)
