"""The weekly case-review sample: drawn from the supervisor's open cases, seeded and recorded,
so the same seed over the same cases draws the same sample."""

import random
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tests.pathways.exception_helpers import DAY, at, build_version, event, overdue_case
from tests.workforce.conftest import person
from workforce.models import CaseAssignment, ReviewSample
from workforce.services import case_assign, review_population, review_sample_draw
from workforce.services.supervision import week_start_of

MONDAY = date(2026, 3, 16)


@pytest.fixture
def caseload(personas, wf):
    version = build_version()
    pat = person(personas, wf["team"], "Pat")
    cases = [overdue_case(version, personas.north, f"C-{n:02d}") for n in range(10)]
    for case in cases:
        case_assign(case=case, practitioner=pat, by=personas.supervisor)
    event(cases[0], "case_closed", at(DAY))
    # A case in another supervisor's team is not in the frame.
    other = person(personas, None, "Unteamed")
    stray = overdue_case(version, personas.north, "C-XX")
    case_assign(case=stray, practitioner=other)
    return cases


def test_the_population_is_the_supervisors_open_assigned_cases_in_id_order(personas, wf, caseload):
    assert review_population(supervisor=wf["supervisor"]) == [c.pk for c in caseload[1:]]


def test_the_same_seed_draws_the_same_sample_and_it_is_recorded(personas, wf, caseload):
    sample = review_sample_draw(supervisor=wf["supervisor"], week_start=MONDAY, seed=42,
                                by=personas.supervisor)  # fmt: skip
    drawn = list(sample.cases.values_list("case_id", flat=True))
    expected = random.Random(42).sample([c.pk for c in caseload[1:]], 3)
    assert drawn == expected
    assert (sample.seed, sample.size, sample.population) == (42, 3, 9)
    # Replaying the recorded seed over the recorded frame reproduces it.
    ReviewSample.objects.all().delete()
    again = review_sample_draw(supervisor=wf["supervisor"], week_start=MONDAY, seed=42)
    assert list(again.cases.values_list("case_id", flat=True)) == drawn


def test_a_week_has_one_sample(personas, wf, caseload):
    first = review_sample_draw(supervisor=wf["supervisor"], week_start=MONDAY + date.resolution)
    second = review_sample_draw(supervisor=wf["supervisor"], week_start=MONDAY, seed=7)
    assert first.pk == second.pk
    assert first.week_start == MONDAY == week_start_of(MONDAY.replace(day=21))


def test_assignment_moves_a_case_and_keeps_the_earlier_one(personas, wf, caseload):
    sam = person(personas, wf["team"], "Sam")
    case_assign(case=caseload[1], practitioner=sam, by=personas.supervisor)
    rows = CaseAssignment.objects.filter(case=caseload[1]).order_by("assigned_at")
    assert [r.practitioner.name for r in rows] == ["Pat", "Sam"]
    assert rows[0].ended_at is not None and rows[1].ended_at is None


def test_cases_go_to_practitioners_of_the_case_site_only(personas, wf, caseload):
    from tests.workforce.conftest import LONG_AGO
    from workforce.services import staff_create

    south = staff_create(site=personas.south, name="S", role="practitioner",
                         experience_band="new", start_date=LONG_AGO, today=DAY)  # fmt: skip
    with pytest.raises(ValidationError, match="another site"):
        case_assign(case=caseload[2], practitioner=south)
