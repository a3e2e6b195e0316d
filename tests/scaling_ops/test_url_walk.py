"""Every view under /o/<org>/: anonymous -> login, outsider -> 404, commissioner -> 403 on writes."""

import pytest

from tests.routes import OUTSIDE_ORG_ROUTES, org_routes, outside_org_routes

ROUTES = org_routes()
UNSAFE_METHODS = ["post", "put", "patch", "delete"]


@pytest.fixture
def personas(db, module_personas):
    # Built once for the module: about a thousand cases only read them, and building them per
    # case was most of the walk's time.
    return module_personas


def test_the_walk_sees_the_views():
    names = {route.name for route in ROUTES}
    assert {"org_home", "site_list", "site_detail", "partner_key_list"} <= names
    assert {"membership_detail", "membership_remove", "invitation_revoke"} <= names


def test_every_route_outside_an_organisation_is_declared_with_its_reason():
    undeclared = {r.name or r.pattern for r in outside_org_routes()} - set(OUTSIDE_ORG_ROUTES)
    assert undeclared == set(), f"routes outside /o/<org>/ without a stated reason: {undeclared}"


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
def test_anonymous_is_sent_to_login(client, personas, route):
    response = client.get(route.url(org=personas.org.slug))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
@pytest.mark.parametrize("method", ["get", *UNSAFE_METHODS])
def test_outsider_gets_404(personas, route, method):
    client = personas.client(personas.outsider)
    response = getattr(client, method)(route.url(org=personas.org.slug))
    assert response.status_code == 404


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
@pytest.mark.parametrize("method", UNSAFE_METHODS)
def test_commissioner_cannot_write(personas, route, method):
    client = personas.client(personas.commissioner)
    response = getattr(client, method)(route.url(org=personas.org.slug), data={})
    assert response.status_code == 403


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.name or r.pattern)
def test_unknown_organisation_is_indistinguishable_from_foreign(personas, route):
    client = personas.client(personas.admin)
    assert client.get(route.url(org="no-such-org")).status_code == 404
