"""The assurance part of ``seed_demo``: baselines, audits with recorded seeds, incidents mapped to
steps and a snapshot for every month with cases, so the dashboards have something on first run."""

import pytest
from django.test import Client
from django.utils import timezone

from assurance.models import (
    AssuranceSnapshot,
    AuditSample,
    ComparatorBaseline,
    Incident,
    MetricDefinition,
)
from assurance.services import month_add
from assurance.services.metrics import BUILTIN_METRICS
from pathways.models import Case
from scaling_ops import demo, tenancy
from scaling_ops.models import Organization


@pytest.fixture
def short_demo(module_short_demo, db) -> Organization:
    # Seeded once for the module; each test's writes are undone after it.
    return Organization.objects.get(slug=demo.DEMO_SLUG)


def test_the_demo_computes_a_snapshot_for_every_month_with_cases(short_demo):
    with tenancy.scope(short_demo):
        zone = short_demo.zone
        first = timezone.localtime(Case.objects.order_by("referral_at").first().referral_at, zone)
        months, month = [], first.date().replace(day=1)
        while month <= timezone.localdate(timezone=zone).replace(day=1):
            months.append(month)
            month = month_add(month, 1)
        computed = set(AssuranceSnapshot.objects.values_list("month", flat=True))
        assert computed == set(months)
        # The ten of DESIGN.md section 4 and the six of the front door.
        assert MetricDefinition.objects.filter(builtin=True).count() == len(BUILTIN_METRICS) == 16


def test_the_demo_records_baselines_audits_and_incidents(short_demo):
    with tenancy.scope(short_demo):
        assert ComparatorBaseline.objects.count() == 2
        assert Incident.objects.count() == 10
        assert AuditSample.objects.exists()
        assert all(seed is not None for seed in AuditSample.objects.values_list("seed", flat=True))


def test_the_demo_commissioner_sees_the_assurance_overview(short_demo):
    client = Client()
    client.post("/accounts/login/", {"username": "commissioner", "password": demo.DEMO_PASSWORD})
    response = client.get("/o/demo/assurance/")
    assert response.status_code == 200
    assert b"Site comparison" in response.content
