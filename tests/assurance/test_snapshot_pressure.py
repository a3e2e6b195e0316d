"""The snapshot's pressure figures and stability verdicts (DESIGN.md section 4a), end to end on
hand-built months: December 2025 to February 2026 hold steady (every obligation met), March 2026
is a referral surge in which intake slips (every obligation overdue)."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.models import AssuranceSnapshot, SnapshotValue
from assurance.services import assurance_settings_update, assurance_snapshot_compute
from pathways.models import Case
from tests.pathways.exception_helpers import at, build_version, complete
from workforce.models import CaseAssignment, StaffRole, WorkforceStandard
from workforce.services import staff_create, team_create, team_establishment_set

APRIL_5 = datetime(2026, 4, 5, tzinfo=UTC)
STEADY = [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
MARCH = date(2026, 3, 1)


def _case(version, site, ref, month, day, tier="low", good=True):
    case = Case.objects.create(
        external_ref=ref, site=site, version=version, referral_at=at(month.replace(day=day), 9),
        risk_tier=tier,
    )  # fmt: skip
    if good:
        complete(case, "intake", at(month.replace(day=day), 12))
        complete(case, "assessment", at(month.replace(day=day + 1), 10), home_risk="low")
    return case


def value(site, month, measure, step="", dimension="all", segment="all") -> SnapshotValue:
    latest = (
        AssuranceSnapshot.objects.filter(site=site, month=month)
        .order_by("-revision")
        .values("revision")[:1]
    )
    return SnapshotValue.objects.get(
        snapshot__site=site, snapshot__month=month, snapshot__revision=latest, measure=measure,
        step=step, dimension=dimension, segment=segment,
    )  # fmt: skip


@pytest.fixture
def months(personas, tenant):
    assurance_settings_update(min_denominator=2)
    version = build_version()
    for month in STEADY:
        for k, tier in enumerate(("high", "low", "low")):
            _case(version, personas.north, f"N{month:%y%m}-{k}", month, 3 + k, tier)
    for k, tier in enumerate(("high", "high", "low", "low", "low", "low")):
        _case(version, personas.north, f"N2603-{k}", MARCH, 3 + k, tier, good=False)
    for month in STEADY:
        assurance_snapshot_compute(organization=personas.org, month=month, now=APRIL_5)
    return version


def compute(personas):
    return assurance_snapshot_compute(organization=personas.org, month=MARCH, now=APRIL_5)


def test_a_surge_month_is_a_pressure_month_with_its_reason(personas, months):
    compute(personas)
    volume = value(personas.north, MARCH, "referral_volume")
    assert volume.value == 6
    assert volume.detail["previous"] == [3, 3, 3]
    assert volume.detail["surge"] is True and volume.detail["baseline"] == 3
    pressure = value(personas.north, MARCH, "pressure_month")
    assert pressure.value == 1 and pressure.detail["reasons"] == ["surge"]
    steady = value(personas.north, date(2026, 2, 1), "pressure_month")
    assert steady.value == 0 and steady.detail["reasons"] == []
    # December has no three months of history: its surge cannot be assessed
    assert value(personas.north, STEADY[0], "referral_volume").detail["assessable"] is False


def test_timeliness_that_slips_in_the_pressure_month_is_unstable(personas, months):
    compute(personas)
    overall = value(personas.north, MARCH, "stability", step="timeliness")
    detail = overall.detail
    assert detail["pressure"]["months"] == ["2026-03"]
    assert detail["other"]["months"] == ["2025-12", "2026-01", "2026-02"]
    assert (detail["pressure"]["numerator"], detail["pressure"]["denominator"]) == (0, 6)
    assert (detail["other"]["numerator"], detail["other"]["denominator"]) == (18, 18)
    assert overall.value == pytest.approx(-100.0)
    assert detail["verdict"] == "unstable"
    assert value(personas.north, MARCH, "unstable_measures").value == 1
    # nothing to measure: touchpoints never fell due
    assert (
        value(personas.north, MARCH, "stability", step="touchpoint_completion").detail["verdict"]
        == "not_assessable"
    )


def test_the_high_risk_split_pools_high_risk_cases_alone(personas, months):
    compute(personas)
    high = value(
        personas.north, MARCH, "stability", step="timeliness", dimension="risk_tier",
        segment="high",
    )  # fmt: skip
    assert (high.detail["pressure"]["numerator"], high.detail["pressure"]["denominator"]) == (0, 2)
    assert (high.detail["other"]["numerator"], high.detail["other"]["denominator"]) == (6, 6)
    # 0/2 (Wilson 0-65.8%) and 6/6 (61.0-100%) overlap: too few to call it unstable
    assert high.detail["verdict"] == "stable"


def test_workforce_pressure_figures_are_stored(personas, months):
    team = team_create(site=personas.north, name="Blue")
    WorkforceStandard.objects.create(max_caseload=1)
    team_establishment_set(team=team, fte=4, effective_from=date(2025, 1, 1))
    practitioner = staff_create(
        site=personas.north, team=team, name="Pat Practitioner", role=StaffRole.PRACTITIONER,
        experience_band="experienced", start_date=date(2024, 1, 1),
    )  # fmt: skip
    for case in Case.objects.filter(external_ref__startswith="N2603")[:2]:
        CaseAssignment.objects.create(
            case=case, practitioner=practitioner, assigned_at=case.referral_at
        )
    compute(personas)
    assert value(personas.north, MARCH, "vacancy_rate").value == pytest.approx(75.0)
    assert value(personas.north, MARCH, "staffing_gap").value == pytest.approx(3.0)
    caseload = value(personas.north, MARCH, "caseload_mean")
    assert caseload.detail["max_caseload"] == 1
    assert value(personas.north, MARCH, "caseload_above_max").value > 0
    assert value(personas.north, MARCH, "pressure_month").detail["reasons"] == [
        "surge", "vacancy", "caseload",
    ]  # fmt: skip


def test_the_snapshots_queries_do_not_grow_with_cases_or_practitioners(personas, months):
    team = team_create(site=personas.north, name="Blue")
    team_establishment_set(team=team, fte=4, effective_from=date(2025, 1, 1))

    def queries():
        with CaptureQueriesContext(connection) as captured:
            compute(personas)
        return len(captured)

    queries()
    few = queries()
    for number in range(12):
        practitioner = staff_create(
            site=personas.north, team=team, name=f"P{number}", role=StaffRole.PRACTITIONER,
            experience_band="experienced", start_date=date(2024, 1, 1),
        )  # fmt: skip
        extra = _case(months, personas.north, f"N-X{number}", MARCH, 10 + number % 10)
        CaseAssignment.objects.create(
            case=extra, practitioner=practitioner, assigned_at=extra.referral_at
        )
    assert queries() == few
