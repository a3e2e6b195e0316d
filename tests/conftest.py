"""Personas for every test (after healthchecks' alice/bob/charlie): one organisation with an
org admin, an implementation lead, a supervisor and a commissioner, plus an outsider who is org
admin of another organisation."""

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from scaling_ops import charts, services, tenancy
from scaling_ops.celery import app as celery_app
from scaling_ops.models import Organization, Role, Site
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

# Test configuration: tasks run in-process unless a test starts a real worker.
celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True
# Set by pytest-xdist in its workers (gw0, gw1, ...); unset in a plain run.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def pytest_configure(config):
    from django.conf import settings

    # A fast hasher: the suite creates many users and never tests hash strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Chunks evaluated in the test's process (a test that wants worker processes asks).
    settings.COMPUTE_PROCESSES = 1
    if XDIST_WORKER:
        # Parallel workers share one Redis (cache and broker): each keeps its cache keys apart,
        # since each worker's database numbers its rows from 1 and the beat marks name them.
        settings.CACHES["default"]["KEY_PREFIX"] = XDIST_WORKER


def pytest_report_header(config):
    database = os.environ.get("DATABASE_URL", "sqlite (default)")
    redis = os.environ.get("REDIS_URL", "not set: Redis tests skip")
    chromium = shutil.which("chromium") or "not installed: browser tests skip"
    return [f"database: {database}", f"redis: {redis}", f"chromium: {chromium}"]


def _clear_cache() -> None:
    backend = caches["default"]
    if XDIST_WORKER and isinstance(backend, RedisCache):
        # Not clear(): on Redis that is FLUSHDB, which would empty the other workers' keys and
        # the broker's queues under a running worker test. Only this worker's keys go.
        client = backend._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{backend.key_prefix}:*"))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_state():
    _clear_cache()
    # Rolled-back tests reuse ids on SQLite: a site's remembered place in its organisation must
    # not outlive the test that made it.
    charts.forget_site_positions()
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


def _make_personas() -> Personas:
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
def personas(db) -> Personas:
    return _make_personas()


@contextmanager
def built_for_the_module(django_db_blocker, build):
    """What ``build()`` writes, kept for a whole module (Django's ``setUpTestData``): each test
    still runs in its own savepoint, so what a test writes is undone after it, and the built rows
    are rolled back when the module ends."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with tenancy.isolated():
                built = build()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(scope="module")
def module_personas(django_db_setup, django_db_blocker) -> Personas:
    """The personas built once for a whole module, for walks that only read them."""
    with built_for_the_module(django_db_blocker, _make_personas) as built:
        yield built


@pytest.fixture(scope="module")
def module_short_demo(django_db_setup, django_db_blocker) -> str:
    """``seed_demo`` over two weeks instead of the demo's 92 days (the same shape), run once for
    a module; its printed output."""
    import pathways.demo

    def seed() -> str:
        out = StringIO()
        call_command("seed_demo", stdout=out)
        return out.getvalue()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pathways.demo, "DEMO_DAYS", 14)
        with built_for_the_module(django_db_blocker, seed) as output:
            yield output


@pytest.fixture
def tenant(personas):
    """Binds the personas' organisation for code under test that runs outside a request."""
    with tenancy.scope(personas.org):
        yield personas.org
