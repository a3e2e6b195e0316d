"""Workforce pressure figures (DESIGN.md section 4a) on small hand-built data: caseload on a day
with a closure that day, a reassignment mid-month, a leaver; the share of practitioner-days
above the standard's maximum; the staffing gap with an establishment changed mid-month."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from pathways.extension_points import workforce_pressure
from pathways.models import Case, CaseEvent
from scaling_ops import tenancy
from tests.pathways.exception_helpers import at, build_version
from tests.workforce.conftest import person
from workforce.models import CaseAssignment
from workforce.pressure import site_pressure
from workforce.services import staff_update, team_establishment_set

pytestmark = pytest.mark.django_db

MARCH = [date(2026, 3, 1) + timedelta(days=k) for k in range(31)]


def _day(personas, d: date) -> dict:
    return site_pressure(site_ids=[personas.north.pk], days=[d], zone=personas.org.zone)[
        personas.north.pk
    ]


def _case(version, site, ref, referred):
    return Case.objects.create(
        external_ref=ref, site=site, version=version, referral_at=referred, risk_tier="low"
    )


def _assign(case, practitioner, since, until=None):
    return CaseAssignment.objects.create(
        case=case, practitioner=practitioner, assigned_at=since, ended_at=until
    )


@pytest.fixture
def caseload(personas, wf):
    with tenancy.scope(personas.org):
        version = build_version()
        ann = person(personas, wf["team"], "Ann Practitioner")
        bob = person(personas, wf["team"], "Bob Practitioner")
        cases = [
            _case(version, personas.north, f"C{k}", at(date(2026, 2, 20), 9)) for k in range(3)
        ]
        yield {"ann": ann, "bob": bob, "cases": cases, "version": version}


def test_the_provider_is_registered_by_workforce():
    assert workforce_pressure.providers() == [site_pressure]


def test_a_case_closed_during_the_day_is_not_open_at_its_end(personas, caseload):
    with tenancy.scope(personas.org):
        case = caseload["cases"][0]
        _assign(case, caseload["ann"], at(date(2026, 3, 1), 9))
        CaseEvent.objects.create(
            case=case, type="case_closed", occurred_at=at(date(2026, 3, 5), 15), event_id="x1"
        )
        assert _day(personas, date(2026, 3, 4))["caseload_sum"] == 1
        closing_day = _day(personas, date(2026, 3, 5))
        assert closing_day["caseload_days"] == 0 and closing_day["practitioner_days"] == 0


def test_a_reassignment_mid_month_moves_the_case_at_the_end_of_that_day(personas, caseload):
    with tenancy.scope(personas.org):
        first, second = caseload["cases"][:2]
        ann, bob = caseload["ann"], caseload["bob"]
        _assign(first, ann, at(date(2026, 3, 1), 9), until=at(date(2026, 3, 10), 12))
        _assign(first, bob, at(date(2026, 3, 10), 12))
        _assign(second, ann, at(date(2026, 3, 1), 9))
        before = _day(personas, date(2026, 3, 9))  # ann holds two; bob none
        assert (before["caseload_sum"], before["practitioner_days"]) == (2, 1)
        after = _day(personas, date(2026, 3, 10))  # ann one, bob one: 2 cases / 2 people
        assert (after["caseload_sum"], after["practitioner_days"]) == (1, 2)
        month = site_pressure(site_ids=[personas.north.pk], days=MARCH, zone=personas.org.zone)
        north = month[personas.north.pk]
        # 9 days at 2 per practitioner, 22 days at 1: the mean over the month's days
        assert north["caseload_sum"] / north["caseload_days"] == pytest.approx((9 * 2 + 22) / 31)


def test_a_leavers_cases_are_not_counted_once_they_have_left(personas, caseload):
    with tenancy.scope(personas.org):
        ann = caseload["ann"]
        ann.left_on = date(2026, 3, 15)
        ann.save(update_fields=["left_on"])
        for case in caseload["cases"][:2]:
            _assign(case, ann, at(date(2026, 3, 1), 9))
        _assign(caseload["cases"][2], caseload["bob"], at(date(2026, 3, 1), 9))
        last_day = _day(personas, date(2026, 3, 14))
        assert (last_day["caseload_sum"], last_day["practitioner_days"]) == (1.5, 2)
        gone = _day(personas, date(2026, 3, 15))
        assert (gone["caseload_sum"], gone["practitioner_days"]) == (1, 1)


def test_practitioner_days_above_the_standards_maximum(personas, wf, caseload):
    with tenancy.scope(personas.org):
        wf["standard"].max_caseload = 2
        wf["standard"].save(update_fields=["max_caseload"])
        for case in caseload["cases"]:
            _assign(case, caseload["ann"], at(date(2026, 3, 1), 9))
        day = _day(personas, date(2026, 3, 2))
        assert (day["practitioner_days_above"], day["practitioner_days"]) == (1, 1)
        assert day["max_caseload"] == 2
        wf["standard"].max_caseload = 3  # exactly the maximum is not above it
        wf["standard"].save(update_fields=["max_caseload"])
        assert _day(personas, date(2026, 3, 2))["practitioner_days_above"] == 0


def test_staffing_gap_with_the_establishment_changed_mid_month(personas, wf, caseload):
    with tenancy.scope(personas.org):
        # in post in team Blue: Ann and Bob, 1 FTE each (its supervisor is not a member)
        team_establishment_set(team=wf["team"], fte=3, effective_from=date(2026, 1, 1))
        team_establishment_set(team=wf["team"], fte="2.00", effective_from=date(2026, 3, 16))
        before = _day(personas, date(2026, 3, 15))
        assert (before["gap_fte_sum"], before["establishment_fte_sum"]) == (1.0, 3.0)
        assert before["vacancy_sum"] == pytest.approx(1 / 3)
        after = _day(personas, date(2026, 3, 16))
        assert (after["gap_fte_sum"], after["vacancy_sum"]) == (0.0, 0.0)
        north = site_pressure(site_ids=[personas.north.pk], days=MARCH, zone=personas.org.zone)[
            personas.north.pk
        ]
        assert north["establishment_days"] == 31
        assert north["vacancy_sum"] / 31 == pytest.approx(15 / 3 / 31)
        assert north["gap_fte_sum"] / 31 == pytest.approx(15 / 31)


def test_a_leaver_opens_a_gap_and_over_establishment_never_offsets_another_team(
    personas, wf, caseload
):
    from workforce.services import team_create

    with tenancy.scope(personas.org):
        team_establishment_set(team=wf["team"], fte=2, effective_from=date(2026, 1, 1))
        green = team_create(site=personas.north, name="Green")
        person(personas, green, "Cal Practitioner")
        person(personas, green, "Dee Practitioner")
        team_establishment_set(team=green, fte=1, effective_from=date(2026, 1, 1))  # 1 over
        bob = caseload["bob"]
        bob.left_on = date(2026, 3, 10)
        bob.save(update_fields=["left_on"])
        assert _day(personas, date(2026, 3, 9))["gap_fte_sum"] == 0
        left = _day(personas, date(2026, 3, 10))
        assert (left["gap_fte_sum"], left["establishment_fte_sum"]) == (1.0, 3.0)


def test_establishment_keeps_its_history_and_refuses_bad_input(personas, wf):
    with tenancy.scope(personas.org):
        row = team_establishment_set(
            team=wf["team"], fte=4, effective_from=date(2026, 1, 1), by=personas.lead
        )
        team_establishment_set(team=wf["team"], fte=5, effective_from=date(2026, 1, 1))
        row.refresh_from_db()
        assert row.fte == 5
        assert [h.fte for h in row.history.order_by("history_date")] == [4, 5]
        with pytest.raises(ValidationError) as error:
            team_establishment_set(team=wf["team"], fte=-1, effective_from=date(2026, 1, 1))
        assert "fte" in error.value.message_dict
        with pytest.raises(ValidationError) as error:
            team_establishment_set(team=wf["team"], fte=2, effective_from=date(1850, 1, 1))
        assert "effective_from" in error.value.message_dict
        with pytest.raises(ValidationError):
            team_establishment_set(team=wf["team"], fte="lots", effective_from=date(2026, 1, 1))


def test_caseloads_above_the_maximum_read_the_standards_only_when_cases_are_assigned(
    personas, wf, caseload, django_assert_num_queries
):
    from workforce.pressure import above_maximum_on

    today = date(2026, 3, 2)
    with tenancy.scope(personas.org):
        wf["standard"].max_caseload = 2
        wf["standard"].save(update_fields=["max_caseload"])
        with django_assert_num_queries(1):  # the assignments: none, so no one is above it
            assert above_maximum_on(sites=[personas.north], day=today, zone=personas.org.zone) == []
        for case in caseload["cases"]:
            _assign(case, caseload["ann"], at(date(2026, 3, 1), 9))
        with django_assert_num_queries(2):
            over = above_maximum_on(sites=[personas.north], day=today, zone=personas.org.zone)
        assert [(row["name"], row["cases"], row["limit"]) for row in over] == [
            ("Ann Practitioner", 3, 2)
        ]


def _above_maximum_by_frame(sites, today, zone):
    """The queue panel's figure as it was read before: every assignment that may be current
    into a frame (``practitioner_caseloads``) for the one day."""
    from workforce.pressure import practitioner_caseloads

    by_id = {s.pk: s for s in sites}
    loads = practitioner_caseloads(site_ids=list(by_id), days=[today], zone=zone)
    return sorted(
        (
            {"site": by_id[v["site_id"]], "practitioner_id": practitioner_id, "name": v["name"],
             "cases": v["cases"][0], "limit": v["limit"]}
            for practitioner_id, v in loads.items()
            if v["cases"][0] > v["limit"]
        ),
        key=lambda row: (row["site"].code, -row["cases"], row["name"]),
    )  # fmt: skip


def test_caseloads_above_the_maximum_grouped_by_the_database_are_those_of_the_frame(
    personas, wf, caseload
):
    """Closed before or after the day's end, reassigned that day, assigned after it, a leaver,
    a starter, a referral dated after the end, a practitioner holding cases at two sites."""
    from workforce.pressure import above_maximum_on

    today, zone = date(2026, 3, 2), personas.org.zone
    with tenancy.scope(personas.org):
        version, ann, bob = caseload["version"], caseload["ann"], caseload["bob"]
        carl = person(personas, wf["team"], "Carl Leaver")
        dee = person(personas, wf["team"], "Dee Starter", start=date(2026, 3, 3))
        eve = person(personas, None, "Eve Two Sites")

        def case(site, ref, referred=None):
            return _case(version, site, ref, referred or at(date(2026, 2, 20), 9))

        for held in caseload["cases"]:
            _assign(held, ann, at(date(2026, 3, 1), 9))
        for ref, closed_on in (("X-before", date(2026, 3, 2)), ("X-after", date(2026, 3, 3))):
            closing = case(personas.north, ref)
            _assign(closing, ann, at(date(2026, 3, 1), 9))
            CaseEvent.objects.create(
                case=closing, type="case_closed", occurred_at=at(closed_on, 15), event_id=ref
            )
        moved = case(personas.north, "R-1")
        _assign(moved, bob, at(date(2026, 3, 1), 9), until=at(date(2026, 3, 2), 10))
        _assign(moved, ann, at(date(2026, 3, 2), 10))
        _assign(case(personas.north, "B-late"), bob, at(date(2026, 3, 2), 23))
        _assign(case(personas.north, "B-next"), bob, at(date(2026, 3, 3), 1))
        _assign(case(personas.north, "B-referred", at(date(2026, 3, 3), 9)), bob, at(today, 9))
        for k in range(2):
            _assign(case(personas.north, f"L-{k}"), carl, at(date(2026, 3, 1), 9))
            _assign(case(personas.north, f"S-{k}"), dee, at(date(2026, 3, 1), 9))
        for k in range(2):
            _assign(case(personas.north, f"E-N{k}"), eve, at(date(2026, 3, 1), 9))
        for k in range(3):
            _assign(case(personas.south, f"E-S{k}"), eve, at(date(2026, 3, 1), 9))
        staff_update(staff=carl, left_on=today)
        sites = [personas.north, personas.south]
        for maximum in (0, 1, 2, 4):
            wf["standard"].max_caseload = maximum
            wf["standard"].save(update_fields=["max_caseload"])
            expected = _above_maximum_by_frame(sites, today, zone)
            assert above_maximum_on(sites=sites, day=today, zone=zone) == expected
        assert [(row["name"], row["cases"]) for row in expected] == [("Ann Practitioner", 5)]
        for day in (date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 4)):
            assert above_maximum_on(sites=sites, day=day, zone=zone) == (
                _above_maximum_by_frame(sites, day, zone)
            )
