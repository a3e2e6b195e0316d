"""The workforce and readiness pages as each role uses them."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from scaling_ops import tenancy
from scaling_ops.models import Site
from tests.pathways.exception_helpers import build_version, overdue_case
from tests.workforce.conftest import DAY, person
from workforce.models import LaunchDecision, ReadinessAttestation, StaffMember
from workforce.services import case_assign, workforce_checks_compute


@pytest.fixture
def staffed(personas, wf):
    for name, band in [("Ann", "experienced"), ("Bo", "new"), ("Cy", "new")]:
        person(personas, wf["team"], name, band=band)
    workforce_checks_compute(organization=personas.org, date=DAY)
    return wf


def url(personas, path):
    return f"/o/{personas.org.slug}{path}"


def test_the_site_page_shows_teams_exceptions_and_trend_chart_in_few_queries(
    personas, staffed, django_assert_max_num_queries
):
    client = personas.client(personas.lead)
    with django_assert_max_num_queries(40):
        response = client.get(url(personas, "/workforce/sites/north/"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Team below skill-mix minimum" in body  # 1 of 3 experienced, minimum 50%
    assert 'data-chart="trend-data"' in body
    for name in ("Ann", "Bo", "Cy"):
        assert name in body


def test_site_page_query_count_does_not_grow_with_staff(
    personas, staffed, django_assert_max_num_queries
):
    for n in range(30):
        person(personas, staffed["team"], f"Extra {n}")
    with django_assert_max_num_queries(40):
        assert (
            personas.client(personas.lead).get(url(personas, "/workforce/sites/north/")).status_code
            == 200
        )


def test_staff_csv_export(personas, staffed):
    response = personas.client(personas.lead).get(
        url(personas, "/workforce/sites/north/?format=csv")
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "Ann,Practitioner,Experienced (3 years or more)" in response.content.decode()


def test_a_lead_adds_a_new_starter_who_gets_an_onboarding_plan(personas, staffed):
    response = personas.client(personas.lead).post(
        url(personas, "/workforce/sites/north/"),
        {"staff-name": "Dee", "staff-role": "practitioner", "staff-experience_band": "new",
         "staff-fte": "0.8", "staff-start_date": date.today().isoformat(),
         "staff-team": str(staffed["team"].pk)},
    )  # fmt: skip
    assert response.status_code == 302
    dee = StaffMember.objects.get(name="Dee")
    assert dee.onboarding.tasks.count() >= 7


def test_a_supervisor_reads_but_cannot_add_staff(personas, staffed):
    client = personas.client(personas.supervisor)
    assert client.get(url(personas, "/workforce/sites/north/")).status_code == 200
    response = client.post(url(personas, "/workforce/sites/north/"), {"team-name": "Red"})
    assert response.status_code == 403


def test_a_supervisor_cannot_see_a_site_outside_their_scope(personas, staffed):
    assert (
        personas.client(personas.supervisor)
        .get(url(personas, "/workforce/sites/south/"))
        .status_code
        == 404
    )


def test_commissioners_see_no_workforce_or_readiness_page(personas, staffed):
    client = personas.client(personas.commissioner)
    for path in (
        "/workforce/",
        "/workforce/sites/north/",
        "/readiness/",
        "/workforce/assignments/",
    ):
        assert client.get(url(personas, path)).status_code == 403


def test_the_exception_queue_shows_the_workforce_panel(personas, staffed):
    response = personas.client(personas.supervisor).get(url(personas, "/exceptions/"))
    body = response.content.decode()
    assert "Workforce integrity" in body
    assert "Team below skill-mix minimum" in body


def test_resolving_a_workforce_exception_from_the_site_page(personas, staffed):
    from workforce.models import WorkforceException

    row = WorkforceException.objects.get(kind="skill_mix_below_minimum")
    client = personas.client(personas.supervisor)
    client.post(url(personas, f"/workforce/exceptions/{row.pk}/resolve/"), {"note": "Recruiting"})
    row.refresh_from_db()
    assert (row.status, row.note) == ("resolved", "Recruiting")


def launching(personas):
    Site.objects.filter(pk=personas.north.pk).update(status=Site.Status.LAUNCHING)


def test_go_live_from_the_readiness_page_is_refused_naming_the_blockers(personas, staffed):
    launching(personas)
    client = personas.client(personas.lead)
    response = client.post(url(personas, "/readiness/north/go-live/"), follow=True)
    body = response.content.decode()
    assert "Not ready to go live" in body
    assert "An active partner key exists for the site: No active partner key" in body
    with tenancy.scope(personas.org):
        assert Site.objects.get(pk=personas.north.pk).status == Site.Status.LAUNCHING


def test_an_org_admin_override_is_recorded_and_shown_in_the_history(personas, staffed):
    launching(personas)
    client = personas.client(personas.admin)
    client.post(url(personas, "/readiness/north/go-live/"), {"override_reason": "Board approved"})
    decision = LaunchDecision.objects.get()
    assert decision.override_reason == "Board approved" and decision.failing_items
    page = client.get(url(personas, "/readiness/north/")).content.decode()
    assert "Override: went live" in page and "Board approved" in page


def test_a_lead_signs_off_with_evidence_and_a_file(personas, staffed, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    launching(personas)
    client = personas.client(personas.lead)
    client.post(
        url(personas, "/readiness/north/attest/partner-contacts/"),
        {
            "evidence": "Met discharge team",
            "evidence_file": SimpleUploadedFile("m.txt", b"minutes"),
        },
    )
    row = ReadinessAttestation.objects.get()
    assert row.attested_by == personas.lead and row.evidence_file.name.endswith(".txt")
    page = client.get(url(personas, "/readiness/north/")).content.decode()
    # Blockers come first: the sign-off that passes is listed after them.
    assert page.index('data-status="blocker"') < page.index('id="item-partner-contacts"')


def test_the_sign_off_history_names_items_by_title(personas, staffed):
    launching(personas)
    client = personas.client(personas.lead)
    client.post(
        url(personas, "/readiness/north/attest/partner-contacts/"), {"evidence": "Met them"}
    )
    response = client.get(url(personas, "/readiness/north/"))
    (event,) = [e for e in response.context["history"] if e["what"] == "Signed off"]
    assert event["item"] == "Partner contacts established"
    body = response.content.decode()
    history = body[body.index('id="signoff-history"') :]
    assert "<td>Partner contacts established</td>" in history
    assert "<td>partner-contacts</td>" not in history


def test_the_readiness_list_renders_in_few_queries(
    personas, staffed, django_assert_max_num_queries
):
    launching(personas)
    with django_assert_max_num_queries(60):
        response = personas.client(personas.lead).get(url(personas, "/readiness/"))
    assert response.status_code == 200


def test_supervision_page_draws_a_sample_and_records_a_session(personas, staffed):
    version = build_version()
    ann = StaffMember.objects.get(name="Ann")
    for n in range(5):
        case_assign(case=overdue_case(version, personas.north, f"C-{n}"), practitioner=ann)
    client = personas.client(personas.supervisor)
    response = client.post(
        url(personas, "/workforce/supervision/"),
        {"sample-supervisor": staffed["supervisor"].pk, "sample-week_start": "2026-03-16",
         "sample-seed": "11"},
        follow=True,
    )  # fmt: skip
    assert "seed <strong>11</strong>" in response.content.decode()
    response = client.post(
        url(personas, "/workforce/supervision/"),
        {"session-supervisor": staffed["supervisor"].pk, "session-staff": ann.pk,
         "session-held_on": "2026-03-18", "session-cases": "C-1, C-2", "session-notes": "ok"},
    )  # fmt: skip
    assert response.status_code == 302
    assert ann.supervision_sessions.get().reviews.count() == 2


def test_case_decision_refused_for_a_lead_outside_the_matrix(personas, staffed):
    overdue_case(build_version(), personas.north, "C-9")
    response = personas.client(personas.lead).post(
        url(personas, "/workforce/cases/C-9/"), {"decision": "close_case", "note": "Goals met"}
    )
    assert "under the workforce standard" in response.content.decode()


def test_a_pathway_gets_its_own_standard_from_the_standards_page(personas, staffed):
    from workforce.models import WorkforceStandard

    version = build_version()
    client = personas.client(personas.lead)
    path = url(personas, f"/workforce/standards/?pathway={version.pathway.slug}")
    assert "follows the organisation" in client.get(path).content.decode()
    response = client.post(
        path,
        {"min_experienced_share": "0.6", "max_practitioners_per_supervisor": "5",
         "supervision_interval_days": "7", "review_sample_size": "2", "onboarding_days": "30",
         "authority_accept_deviation": ["clinical_lead"]},
    )  # fmt: skip
    assert response.status_code == 302
    saved = WorkforceStandard.objects.get(pathway=version.pathway)
    assert (saved.supervision_interval_days, saved.roles_for("accept_deviation")) == (
        7,
        ["clinical_lead"],
    )
    assert WorkforceStandard.objects.get(pathway__isnull=True).supervision_interval_days == 14


@pytest.mark.parametrize(
    "path", ["/workforce/", "/workforce/supervision/", "/workforce/assignments/",
             "/workforce/standards/", "/exceptions/", "/readiness/"],
)  # fmt: skip
def test_list_pages_do_not_grow_with_rows(personas, staffed, path, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workforce.services import supervision_session_record

    version = build_version()
    ann = StaffMember.objects.get(name="Ann")
    client = personas.client(personas.lead)

    def add_rows(first, count):
        for n in range(first, first + count):
            case_assign(case=overdue_case(version, personas.north, f"C-{n}"), practitioner=ann)
            supervision_session_record(
                supervisor=staffed["supervisor"], staff=ann, held_on=date(2026, 1, 1 + n), by=None
            )
            person(personas, staffed["team"], f"Extra {n}", band="new")
        workforce_checks_compute(organization=personas.org, date=DAY)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(personas, path)).status_code == 200
        return len(captured)

    add_rows(0, 2)
    queries()  # the first readiness visit creates the built-in checklist
    few = queries()
    add_rows(2, 25)
    assert queries() == few
    with django_assert_max_num_queries(45):
        client.get(url(personas, path))


def test_the_queue_has_no_workforce_section_where_no_checks_ever_ran(personas):
    response = personas.client(personas.supervisor).get(url(personas, "/exceptions/"))
    assert "Workforce integrity" not in response.content.decode()


def test_the_queue_reads_no_workforce_exceptions_where_no_checks_ever_ran(personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = personas.client(personas.supervisor)
    client.get(url(personas, "/exceptions/"))
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url(personas, "/exceptions/")).status_code == 200
    tables = " ".join(query["sql"] for query in captured)
    assert "workforce_workforcecheckrun" in tables
    assert "workforce_workforceexception" not in tables


def test_htmx_accept_refused_by_the_matrix_answers_the_row_with_the_reason(personas, staffed):
    from workforce.models import WorkforceException

    row = WorkforceException.objects.get(kind="skill_mix_below_minimum")
    client = personas.client(personas.lead)  # on no staff list
    response = client.post(
        url(personas, f"/workforce/exceptions/{row.pk}/accept/"), {"note": "Recruiting"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="wfx-{row.pk}"')
    assert "under the workforce standard" in body
    response = personas.client(personas.supervisor).post(
        url(personas, f"/workforce/exceptions/{row.pk}/accept/"), {"note": "Recruiting"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert "Accepted with reason" in response.content.decode()


def test_overlong_supervision_notes_are_refused_with_a_message_and_nothing_stored(
    personas, staffed
):
    ann = StaffMember.objects.get(name="Ann")
    response = personas.client(personas.supervisor).post(
        url(personas, "/workforce/supervision/"),
        {"session-supervisor": staffed["supervisor"].pk, "session-staff": ann.pk,
         "session-held_on": "2026-03-18", "session-cases": "", "session-notes": "n" * 5001},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Ensure this value has at most 5000 characters" in response.content.decode()
    assert not ann.supervision_sessions.exists()
