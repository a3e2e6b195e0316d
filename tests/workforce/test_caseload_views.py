"""Caseload for supervisors and leads, the queue's flag for a practitioner above the maximum,
the standard's maximum caseload and a team's funded establishment, as each role uses them."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scaling_ops import tenancy
from tests.pathways.exception_helpers import build_version, overdue_case
from tests.workforce.conftest import person
from workforce.models import TeamEstablishment, WorkforceStandard
from workforce.selectors import caseload_flags, latest_run
from workforce.services import case_assign
from workforce.services.checks import workforce_checks_compute


def url(personas, path):
    return f"/o/{personas.org.slug}{path}"


@pytest.fixture
def loaded(personas, wf):
    """Ann holds three open cases against a maximum of two; Bo holds one."""
    with tenancy.scope(personas.org):
        wf["standard"].max_caseload = 2
        wf["standard"].save(update_fields=["max_caseload"])
        version = build_version()
        ann = person(personas, wf["team"], "Ann Practitioner")
        bo = person(personas, wf["team"], "Bo Practitioner")
        for n in range(3):
            case_assign(case=overdue_case(version, personas.north, f"C-{n}"), practitioner=ann)
        case_assign(case=overdue_case(version, personas.north, "C-9"), practitioner=bo)
    return {**wf, "ann": ann, "bo": bo, "version": version}


def test_the_caseload_page_flags_a_practitioner_above_the_maximum(personas, loaded):
    response = personas.client(personas.supervisor).get(url(personas, "/workforce/caseload/"))
    assert response.status_code == 200
    rows = {r["staff"].name: r for r in response.context["rows"]}
    assert (rows["Ann Practitioner"]["now"], rows["Ann Practitioner"]["above"]) == (3, True)
    assert (rows["Bo Practitioner"]["now"], rows["Bo Practitioner"]["above"]) == (1, False)
    assert rows["Ann Practitioner"]["limit"] == 2
    assert "1 practitioner above the maximum caseload" in response.content.decode()


def test_the_caseload_csv_has_names_and_the_trend(personas, loaded):
    body = personas.client(personas.lead).get(url(personas, "/workforce/caseload/?format=csv"))
    lines = body.content.decode().splitlines()
    assert lines[0].startswith("Site,Practitioner,Team,Open cases today,Maximum,Above the maximum")
    assert any(
        line.startswith("North") and "Ann Practitioner,Blue,3,2,yes" in line for line in lines
    )


def test_the_queue_flags_a_practitioner_above_the_maximum_as_the_check_run_found(personas, loaded):
    """The queue's panel shows the flags the daily workforce check run stored for its day, not
    a count of every assignment on each page view: an assignment after the run shows with the
    next run."""
    supervisor = personas.client(personas.supervisor)
    today = timezone.localdate(timezone=personas.org.zone)

    def caseload_panel():
        html = supervisor.get(url(personas, "/exceptions/")).content.decode()
        if 'id="caseload-above-max"' not in html:
            return None
        return html.split('id="caseload-above-max"', 1)[1].split("</table>")[0]

    assert caseload_panel() is None, "no check run yet: no workforce section"
    with tenancy.scope(personas.org):
        workforce_checks_compute(organization=personas.org, date=today)
    panel = caseload_panel()
    assert f"at the end of {today:%-d %b %Y}" in panel
    assert "Ann Practitioner" in panel and "Bo Practitioner" not in panel
    assert '<td class="num">3</td><td class="num">2</td>' in panel

    with tenancy.scope(personas.org):
        for n in range(2):
            case_assign(
                case=overdue_case(loaded["version"], personas.north, f"B-{n}"),
                practitioner=loaded["bo"],
            )
    assert "Bo Practitioner" not in caseload_panel(), "as the run found it"
    with tenancy.scope(personas.org):
        workforce_checks_compute(organization=personas.org, date=today)
    assert "Bo Practitioner" in caseload_panel()


def test_the_queue_reads_the_caseload_flags_in_one_query_however_many(personas, loaded):
    """With a check run: the run, its open exceptions and its caseload flags, one query each,
    whatever the number of practitioners flagged (nothing counts assignments on a page view)."""
    supervisor = personas.client(personas.supervisor)
    today = timezone.localdate(timezone=personas.org.zone)

    def queries_and_flags():
        with tenancy.scope(personas.org):
            workforce_checks_compute(organization=personas.org, date=today)
        supervisor.get(url(personas, "/exceptions/"))  # warm: the remembered filters stored
        with CaptureQueriesContext(connection) as queries:
            html = supervisor.get(url(personas, "/exceptions/")).content.decode()
        assert not any("workforce_caseassignment" in q["sql"] for q in queries.captured_queries)
        return len(queries), html.count("Above maximum</span>")

    one = queries_and_flags()
    with tenancy.scope(personas.org):
        for name in ("Cy Practitioner", "Di Practitioner"):
            someone = person(personas, loaded["team"], name)
            for n in range(3):
                case_assign(
                    case=overdue_case(loaded["version"], personas.north, f"{name[:2]}-{n}"),
                    practitioner=someone,
                )
    three = queries_and_flags()
    assert (one[1], three[1]) == (1, 3)
    assert one[0] == three[0]

    # Past the page's limit, the first are listed and the rest counted.
    with tenancy.scope(personas.org):
        run = latest_run()
        listed, count = caseload_flags(run=run, site_ids=[personas.north.pk], limit=2)
    assert [flag["practitioner_name"] for flag in listed] == ["Ann Practitioner", "Cy Practitioner"]
    assert count == 3


def test_the_caseload_page_queries_do_not_grow_with_practitioners(personas, loaded):
    client = personas.client(personas.lead)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(personas, "/workforce/caseload/")).status_code == 200
        return len(captured)

    few = queries()
    with tenancy.scope(personas.org):
        for n in range(10):
            extra = person(personas, loaded["team"], f"Extra {n}")
            case = overdue_case(loaded["version"], personas.north, f"X-{n}")
            case_assign(case=case, practitioner=extra)
    assert queries() == few


def test_an_outsider_gets_404_and_a_commissioner_403_on_the_caseload_page(personas, loaded):
    assert (
        personas.client(personas.outsider).get(url(personas, "/workforce/caseload/")).status_code
        == 404
    )
    assert (
        personas.client(personas.commissioner)
        .get(url(personas, "/workforce/caseload/"))
        .status_code
        == 403
    )


def test_a_lead_sets_the_funded_establishment_and_its_history_shows(personas, loaded):
    client = personas.client(personas.lead)
    team_url = url(personas, f"/workforce/teams/{loaded['team'].pk}/")
    response = client.post(
        team_url, {"fte": "4.5", "effective_from": "2026-03-01", "note": "Budget"}
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        row = TeamEstablishment.objects.get(team=loaded["team"])
    assert (row.fte, row.effective_from, row.set_by) == (4.5, date(2026, 3, 1), personas.lead)
    html = client.get(team_url).content.decode()
    assert "Establishment 4.50 FTE from 2026-03-01" in html


def test_bad_establishment_input_re_renders_with_a_message_and_stores_nothing(personas, loaded):
    client = personas.client(personas.lead)
    team_url = url(personas, f"/workforce/teams/{loaded['team'].pk}/")
    response = client.post(team_url, {"fte": "-2", "effective_from": "2026-03-01"})
    assert response.status_code == 200
    assert "greater than or equal to 0" in response.content.decode()
    response = client.post(team_url, {"fte": "3", "effective_from": "1850-01-01"})
    assert "Enter a date between 1 Jan 1900 and" in response.content.decode()
    with tenancy.scope(personas.org):
        assert not TeamEstablishment.objects.exists()


def test_a_supervisor_may_not_set_the_establishment(personas, loaded):
    response = personas.client(personas.supervisor).post(
        url(personas, f"/workforce/teams/{loaded['team'].pk}/"),
        {"fte": "9", "effective_from": "2026-03-01"},
    )
    assert response.status_code == 403
    with tenancy.scope(personas.org):
        assert not TeamEstablishment.objects.exists()


def test_the_standards_page_sets_the_maximum_caseload(personas, loaded):
    response = personas.client(personas.lead).post(
        url(personas, "/workforce/standards/"),
        {"min_experienced_share": "0.5", "max_practitioners_per_supervisor": "3",
         "supervision_interval_days": "14", "review_sample_size": "3", "onboarding_days": "30",
         "max_caseload": "15"},
    )  # fmt: skip
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        assert WorkforceStandard.objects.get(pathway__isnull=True).max_caseload == 15
