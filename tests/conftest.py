"""Personas for every test (after healthchecks' alice/bob/charlie): one organisation with an
org admin, an implementation lead, a supervisor and a commissioner, plus an outsider who is org
admin of another organisation."""

import os
import shutil
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from scaling_ops import services, tenancy
from scaling_ops.celery import app as celery_app
from scaling_ops.models import Organization, Role, Site
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

# Test configuration: tasks run in-process unless a test starts a real worker.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


def pytest_configure(config):
    from django.conf import settings

    # A fast hasher: the suite creates many users and never tests hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_report_header(config):
    database = os.environ.get("DATABASE_URL", "sqlite (default)")
    redis = os.environ.get("REDIS_URL", "not set: Redis tests skip")
    chromium = shutil.which("chromium") or "not installed: browser tests skip"
    return [f"database: {database}", f"redis: {redis}", f"chromium: {chromium}"]


@pytest.fixture(autouse=True)
def _fresh_state():
    cache.clear()
    with tenancy.isolated():
        yield


@dataclass
class Personas:
    org: Organization
    other_org: Organization
    north: Site
    south: Site
    other_site: Site
    admin: object
    lead: object
    supervisor: object
    commissioner: object
    outsider: object

    def client(self, user) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def personas(db) -> Personas:
    org = OrganizationFactory(slug="acme", name="Acme Community Services")
    other_org = OrganizationFactory(slug="globex", name="Globex Care")
    north = SiteFactory(organization=org, code="north")
    south = SiteFactory(organization=org, code="south")
    other_site = SiteFactory(organization=other_org, code="north")
    users = {}
    for username, role, all_sites, sites in [
        ("alice", Role.ORG_ADMIN, True, []),
        ("lena", Role.IMPLEMENTATION_LEAD, True, []),
        ("sam", Role.SUPERVISOR, False, [north]),
        ("cora", Role.COMMISSIONER, False, [north]),
    ]:
        users[username] = UserFactory(username=username)
        services.membership_set(
            user=users[username], organization=org, role=role, all_sites=all_sites, sites=sites
        )
    outsider = UserFactory(username="oscar")
    services.membership_set(user=outsider, organization=other_org, role=Role.ORG_ADMIN)
    return Personas(
        org=org,
        other_org=other_org,
        north=north,
        south=south,
        other_site=other_site,
        admin=users["alice"],
        lead=users["lena"],
        supervisor=users["sam"],
        commissioner=users["cora"],
        outsider=outsider,
    )


@pytest.fixture
def tenant(personas):
    """Binds the personas' organisation for code under test that runs outside a request."""
    with tenancy.scope(personas.org):
        yield personas.org
