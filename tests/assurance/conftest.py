"""Shared assurance fixtures."""

from datetime import date

import pytest

from assurance.models import DriftSignal
from assurance.services import (
    assurance_snapshot_compute,
    audit_record_save,
    audit_sample_draw,
    baseline_save,
    incident_create,
)
from pathways.models import Case
from scaling_ops import tenancy
from tests.assurance.helpers import APRIL_5, MONTH, build_month, march


@pytest.fixture
def assured(personas):
    """March 2026 computed for north and south, with an audit sample, incidents naming a case,
    a baseline and a drift signal; every case ref is distinctive so a leak is easy to find."""
    with tenancy.scope(personas.org):
        cases = build_month(personas)
        for number, (_key, value) in enumerate(sorted(cases.items())):
            if isinstance(value, Case):
                value.external_ref = f"SECRETREF{number:03d}"
                value.save(update_fields=["external_ref"])
        baseline_save(
            name="Region 2025",
            kind="geographic",
            rates={"low": (10, 500), "medium": (20, 300), "high": (40, 200)},
        )
        sample = audit_sample_draw(site=personas.north, month=MONTH, seed=5, size=2, now=APRIL_5)
        for record in sample.records.all():
            audit_record_save(
                record=record,
                by=personas.supervisor,
                documentation_complete="yes",
                steps_evidenced="no",
                escalation_appropriate="na",
                notes="checked",
            )
        incident = incident_create(
            site=personas.north,
            kind="incident",
            severity="moderate",
            occurred_at=march(15),
            summary="Follow-up missed",
            failed_steps=["follow_up"],
            case_ref=cases["N-C"].external_ref,
        )
        snapshots = assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5)
        north = next(s for s in snapshots if s.site == personas.north)
        signal = DriftSignal(
            site=personas.north,
            month=MONTH,
            measure="timeliness",
            basis="network",
            value=28.6,
            reference=50.0,
            margin=10,
            denominator=7,
            snapshot=north,
            raised_at=APRIL_5,
            reaudit_from=date(2026, 4, 1),
            reaudit_until=date(2026, 4, 30),
        )
        signal.save()
        refs = list(Case.objects.values_list("external_ref", flat=True))
        record = sample.records.order_by("position").first()
    return {
        "refs": refs,
        "sample": sample,
        "incident": incident,
        "snapshot": north,
        "south_snapshot": next(s for s in snapshots if s.site == personas.south),
        "signal": signal,
        "record": record,
    }
