"""The "Stability under pressure" and "Workforce evidence" pages, their CSVs, the pack and the
contract page (DESIGN.md section 4a): a commissioner reads aggregates of their sites only and
never a case ref nor a staff name; contracts hold terms on the pressure measures."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assurance.contracts.models import TermEvaluation
from assurance.contracts.services.editing import performance_term_save
from assurance.models import MetricDefinition
from assurance.services import assurance_snapshot_compute
from assurance.services.metrics import PROCESS_MEASURES
from pathways.models import Case
from scaling_ops import tenancy
from tests.assurance.contract_helpers import make_contract
from tests.assurance.helpers import APRIL_5, MONTH
from tests.routes import org_routes
from workforce.models import CaseAssignment, StaffRole, SupervisionSession
from workforce.services import staff_create, team_create, team_establishment_set

STAFF = ["SECRETSTAFF Alpha", "SECRETSTAFF Beta", "SECRETSTAFF Lead"]
TEAM = "SECRETTEAM Blue"
PAGES = ("assurance_stability", "assurance_workforce_evidence", "assurance_pack")


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


@pytest.fixture
def staffed(personas, assured):
    """The assured March plus North's workforce: a named team and staff holding cases, a
    funded establishment with one post vacant, supervision; March recomputed; a contract with
    a vacancy term."""
    with tenancy.scope(personas.org):
        lead = staff_create(
            site=personas.north, name=STAFF[2], role=StaffRole.SUPERVISOR,
            experience_band="experienced", start_date=date(2024, 1, 1),
        )  # fmt: skip
        team = team_create(site=personas.north, name=TEAM, supervisor=lead)
        team_establishment_set(team=team, fte=3, effective_from=date(2025, 1, 1))
        people = [
            staff_create(
                site=personas.north,
                team=team,
                name=name,
                role=StaffRole.PRACTITIONER,
                experience_band="experienced",
                start_date=date(2024, 1, 1),
            )  # fmt: skip
            for name in STAFF[:2]
        ]
        SupervisionSession.objects.create(
            supervisor=lead, staff=people[0], held_on=date(2026, 3, 25), notes="SECRETNOTE"
        )
        for index, case in enumerate(Case.objects.filter(site=personas.north)):
            CaseAssignment.objects.create(
                case=case, practitioner=people[index % 2], assigned_at=case.referral_at
            )
        contract, *_ = make_contract(personas)
        vacancy = MetricDefinition.objects.get(code="vacancy_rate")
        performance_term_save(
            contract=contract, by=None, clause="7.1", metric=vacancy,
            implementation_target=15, implementation_threshold=25, mature_target=15,
            mature_threshold=25,
        )  # fmt: skip
        unstable = MetricDefinition.objects.get(code="unstable_measures")
        performance_term_save(
            contract=contract, by=None, clause="7.2", metric=unstable,
            implementation_target=0, implementation_threshold=0, mature_target=0,
            mature_threshold=0,
        )  # fmt: skip
        assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5)
    return {**assured, "contract": contract, "team": team}


def test_contract_terms_on_vacancy_and_stability_are_evaluated(personas, staffed):
    with tenancy.scope(personas.org):
        rows = {
            e.term.clause: e
            for e in TermEvaluation.objects.filter(month=MONTH, site=personas.north)
        }
    # one of three funded FTE vacant all month: 33.3% against "at most 15%" (breach above 25)
    assert rows["7.1"].value == pytest.approx(100 / 3)
    assert rows["7.1"].status == TermEvaluation.Status.BREACHED
    assert rows["7.2"].value == 0 and rows["7.2"].status == TermEvaluation.Status.MET


def test_a_commissioner_never_sees_a_staff_name_or_case_ref(personas, staffed):
    client = personas.client(personas.commissioner)
    targets = [url(personas, name) for name in PAGES] + [
        url(personas, "contract_detail", pk=staffed["contract"].pk)
    ]
    rendered = 0
    for target in targets:
        for suffix in ("", "?month=2026-03", "?month=2026-03&format=csv"):
            response = client.get(target + suffix)
            assert response.status_code == 200, target + suffix
            text = response.content.decode()
            for secret in [*STAFF, TEAM, "SECRETNOTE", *staffed["refs"]]:
                assert secret not in text, f"{secret} leaked in {target}{suffix}"
            rendered += 1
    assert rendered == 12


def test_the_stability_page_shows_verdicts_pressure_months_and_charts(personas, staffed):
    client = personas.client(personas.commissioner)
    response = client.get(url(personas, "assurance_stability") + "?month=2026-03")
    html = response.content.decode()
    assert "Stability under pressure" in html
    report = response.context["report"]
    assert [p.site for p in report.panels] == [personas.north]  # their sites only
    march = report.panels[0].months[-1]
    assert march.pressure is True
    assert "Vacancy rate at or above the threshold" in march.reason_labels
    assert {(r.measure, r.split) for r in report.rows} >= {
        ("timeliness", "All cases"), ("timeliness", "High-risk cases"),
    }  # fmt: skip
    assert len(report.charts) == len(PROCESS_MEASURES)  # one per process measure
    assert "Not assessable" in html


def test_the_stability_csv_names_measures_and_verdicts(personas, staffed):
    client = personas.client(personas.lead)
    body = client.get(url(personas, "assurance_stability") + "?month=2026-03&format=csv")
    lines = body.content.decode().splitlines()
    assert lines[0].startswith("Month,Site,Measure,Cases,Verdict,Rate in pressure months")
    assert any(",Timeliness compliance,High-risk cases," in line for line in lines)
    assert all(",timeliness," not in line for line in lines[1:])  # words, not codes


def test_workforce_evidence_shows_aggregates_for_the_commissioners_sites(personas, staffed):
    client = personas.client(personas.commissioner)
    response = client.get(url(personas, "assurance_workforce_evidence") + "?month=2026-03")
    evidence = response.context["evidence"]
    assert [e.site for e in evidence] == [personas.north]
    rows = {r["code"]: r for r in evidence[0].rows}
    assert rows["supervision"]["numerator"] == 1 and rows["supervision"]["denominator"] == 2
    assert rows["vacancy_rate"]["value"] == pytest.approx(100 / 3)
    assert "Practitioners supervised within the interval" in response.content.decode()


def test_an_outsider_gets_404_and_writes_are_refused(personas, staffed):
    outsider = personas.client(personas.outsider)
    commissioner = personas.client(personas.commissioner)
    for name in PAGES[:2]:
        assert outsider.get(url(personas, name)).status_code == 404
        assert commissioner.post(url(personas, name), {"month": "2026-03"}).status_code == 403


def test_the_pages_queries_do_not_grow_with_staff(personas, staffed):
    client = personas.client(personas.commissioner)

    def queries(name):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(personas, name) + "?month=2026-03").status_code == 200
        return len(captured)

    before = {name: queries(name) for name in PAGES[:2]}
    with tenancy.scope(personas.org):
        for number in range(6):
            staff_create(
                site=personas.north, team=staffed["team"], name=f"Extra {number}",
                role=StaffRole.PRACTITIONER, experience_band="new", start_date=date(2025, 6, 1),
            )  # fmt: skip
    assert {name: queries(name) for name in PAGES[:2]} == before


def test_the_new_routes_are_in_the_walk():
    names = {r.name for r in org_routes()}
    assert {"assurance_stability", "assurance_workforce_evidence"} <= names
