"""Every route under /api/v1/: no key, an unknown key or a revoked key -> 401; a key of another
organisation sees nothing of this one; a key may write only at its own sites (403)."""

import pytest
from rest_framework.test import APIClient

from pathways.models import Case
from scaling_ops import services, tenancy
from scaling_ops.models import PartnerKey
from tests.pathways.api_helpers import case_payload, partner_client
from tests.pathways.exception_helpers import DAY, at, build_version, make_case
from tests.routes import api_routes

ROUTES = api_routes()
METHODS = ["get", "post", "put", "patch", "delete"]


@pytest.fixture
def personas(db, module_personas):
    # One set for the module (the revoked key lives beside it); each test's writes are undone.
    return module_personas


def test_the_walk_sees_the_partner_api():
    assert {"api_case", "api_events", "api_exceptions"} <= {route.name for route in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("header", [None, "Bearer sok_nope_nope", "Token abc"])
def test_without_a_valid_key_every_route_is_401(db, route, method, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = getattr(client, method)(route.url(external_ref="C-1"), {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    message = response.json()["errors"][0]["message"]
    assert "Bearer" in message if header is None else "key" in message


@pytest.fixture(scope="module")
def revoked_key(module_personas, django_db_blocker) -> str:
    # Module-scoped so it is made inside the personas' module transaction, not a test's savepoint.
    with django_db_blocker.unblock(), tenancy.scope(module_personas.org):
        key, raw_key = services.partner_key_create(name="old", sites=[module_personas.north])
        services.partner_key_revoke(key=key)
    return raw_key


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
def test_a_revoked_key_is_401(db, revoked_key, route):
    # The key must still be there and revoked, or this would only repeat the unknown-key case.
    prefix = revoked_key.split("_")[1]
    assert PartnerKey.dangerously_unscoped.get(prefix=prefix).revoked_at is not None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {revoked_key}")
    assert client.get(route.url(external_ref="C-1")).status_code == 401


@pytest.fixture
def our_case(personas):
    with tenancy.scope(personas.org):
        version = build_version()
        return make_case(version, personas.north, "C-1", at(DAY, 9))


def test_an_outsiders_key_cannot_read_or_write_our_case(personas, our_case):
    outsider = partner_client(personas.other_org, [personas.other_site], name="globex")
    assert outsider.get("/api/v1/cases/C-1/").status_code == 404
    event = {
        "id": "e1",
        "case": "C-1",
        "type": "contact_made",
        "occurred_at": "2026-03-02T10:00:00+00:00",
    }
    response = outsider.post("/api/v1/events/", event, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "case"
    assert outsider.get("/api/v1/exceptions/").status_code == 404
    # Its own PUT of the same ref makes its own case; ours is untouched.
    assert outsider.put("/api/v1/cases/C-1/", case_payload(), format="json").status_code == 400
    assert Case.dangerously_unscoped.filter(external_ref="C-1").count() == 1


def test_a_key_may_not_write_outside_its_sites(personas, our_case):
    south_only = partner_client(personas.org, [personas.south], name="south")
    response = south_only.put("/api/v1/cases/C-1/", case_payload(site="north"), format="json")
    assert response.status_code == 403
    response = south_only.put("/api/v1/cases/C-1/", case_payload(site="south"), format="json")
    assert response.status_code == 403
    assert Case.dangerously_unscoped.get(external_ref="C-1").site_id == personas.north.pk
