"""The monthly snapshot of an organisation holding rows dated outside the plausible window
(stored before the API refused them) completes, with the other cases' figures unchanged, and each
site's snapshot counts what it left out."""

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command

from assurance.models import AssuranceSnapshot, SnapshotValue
from assurance.services import assurance_snapshot_compute
from pathways.models import Case, CaseEvent
from scaling_ops import tenancy
from tests.assurance.helpers import APRIL_5, MONTH, build_month, march


@pytest.fixture
def month(personas, tenant):
    return build_month(personas)


def compute(personas) -> list[AssuranceSnapshot]:
    return assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5)


def figures(snapshots) -> set[tuple]:
    return set(
        SnapshotValue.objects.filter(snapshot__in=snapshots).values_list(
            "snapshot__site__code",
            "measure",
            "step",
            "dimension",
            "segment",
            "numerator",
            "denominator",
            "value",
        )
    )


def poison(personas, cases) -> None:
    """An early closure of N-A in year 206 (counted, it would void N-A's March) and a case
    referred in year 1 with a missed contact in March, through the unscoped manager."""
    CaseEvent.dangerously_unscoped.create(
        organization=personas.org,
        event_id="evt-typo",
        case=cases["N-A"],
        type="case_closed",
        occurred_at=datetime(206, 11, 2, 10, tzinfo=UTC),
        content_hash="0" * 64,
    )
    year_one = Case.dangerously_unscoped.create(
        organization=personas.org,
        external_ref="N-BC",
        site=personas.north,
        version=cases["version"],
        referral_at=datetime(1, 1, 1, tzinfo=UTC),
        risk_tier="high",
    )
    CaseEvent.dangerously_unscoped.create(
        organization=personas.org,
        event_id="evt-of-year-one-case",
        case=year_one,
        type="contact_missed",
        occurred_at=march(15),
        content_hash="1" * 64,
    )


def test_snapshot_leaves_the_rows_out_and_equals_the_snapshot_without_them(personas, month):
    clean = compute(personas)
    poison(personas, month)
    poisoned = compute(personas)
    assert figures(poisoned) == figures(clean)
    assert [s.case_count for s in poisoned] == [s.case_count for s in clean]
    counts = {s.site.code: (s.implausible_cases, s.implausible_events) for s in poisoned}
    assert counts == {"north": (1, 1), "south": (0, 0)}


def test_command_says_what_the_snapshot_left_out(personas, month):
    poison(personas, month)
    out = io.StringIO()
    with tenancy.isolated():
        call_command(
            "compute_assurance", "--org", "acme", "--month", "2026-03", "--no-progress", stdout=out
        )
    assert (
        out.getvalue()
        .rstrip()
        .endswith(
            "1 case and 1 event left out: dated before 1900-01-01 or in the future; run manage.py "
            "repair_implausible_times --org acme to list and repair them."
        )
    )
