"""Pathway pages: the list with case counts (query count pinned), a version as a readable
workflow, JSON download and upload, activation, the diff page, site adaptations, and who may do
what."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pathways.models import Pathway, PathwayVersion, SiteAdaptation
from pathways.services.versions import site_adaptation_propose
from scaling_ops import tenancy
from tests.pathways.version_helpers import (
    API_EXAMPLE,
    example,
    import_version,
    make_case,
    normalised,
    with_adaptable_step,
)


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def version_url(personas, name="version_detail", number=1, slug="hospital-to-home"):
    return url(personas, name, pathway=slug, number=number)


@pytest.fixture
def versions(personas):
    """hospital-to-home v1 (retired, 2 cases at north, 1 at south) and v2 (active, adaptable
    weekly review, 1 case at north)."""
    with tenancy.scope(personas.org):
        first = import_version(activate=True, created_by=personas.admin, rationale="Pilot model.")
        make_case(first, personas.north, "C-1")
        make_case(first, personas.north, "C-2")
        make_case(first, personas.south, "C-3")
        second = import_version(
            with_adaptable_step(), activate=True, created_by=personas.admin, rationale="Reviews."
        )
        make_case(second, personas.north, "C-4")
    return first, second


def status_of(personas, number):
    with tenancy.scope(personas.org):
        return PathwayVersion.objects.get(number=number).status


# --- the pathway list ----------------------------------------------------------------------------


def test_the_list_shows_each_pathway_with_its_versions_statuses_and_case_counts(personas, versions):
    response = personas.client(personas.admin).get(url(personas, "pathway_list"))
    assert response.status_code == 200
    (pathway,) = response.context["pathways"]
    assert [(v.number, v.status, v.case_count) for v in pathway.version_rows] == [
        (2, "active", 1),
        (1, "retired", 3),
    ]
    assert pathway.total_cases == 4
    assert b"Import a version" in response.content


def test_case_counts_on_the_list_cover_only_the_members_sites(personas, versions):
    response = personas.client(personas.supervisor).get(url(personas, "pathway_list"))
    (pathway,) = response.context["pathways"]
    assert [v.case_count for v in pathway.version_rows] == [1, 2]
    assert b"Import a version" not in response.content


def test_the_list_query_count_does_not_grow_with_pathways_or_versions(
    personas, django_assert_max_num_queries
):
    # session, user, membership; the page count and the page of pathways; the member's site
    # permission content type (guardian); every version of the page with its case count.
    client = personas.client(personas.supervisor)
    with tenancy.scope(personas.org):
        import_version(activate=True)
    with django_assert_max_num_queries(7):
        client.get(url(personas, "pathway_list"))
    with tenancy.scope(personas.org):
        for index in range(8):
            for _ in range(3):
                version = import_version(example(slug=f"pathway-{index}"), activate=True)
            make_case(version, personas.north, f"C-{index}")
    with django_assert_max_num_queries(7):
        response = client.get(url(personas, "pathway_list"))
    assert len(response.context["pathways"]) == 9
    assert sum(len(p.version_rows) for p in response.context["pathways"]) == 25


def test_the_list_filters_by_name_and_status(personas, versions):
    with tenancy.scope(personas.org):
        import_version(example(slug="crisis-care", name="Crisis care"))
    client = personas.client(personas.admin)
    found = client.get(url(personas, "pathway_list"), {"q": "crisis"}).context["pathways"]
    assert [p.slug for p in found] == ["crisis-care"]
    found = client.get(url(personas, "pathway_list"), {"status": "active"}).context["pathways"]
    assert [p.slug for p in found] == ["hospital-to-home"]


def test_the_list_says_when_no_pathway_matches_the_filters(personas, versions):
    response = personas.client(personas.admin).get(url(personas, "pathway_list"), {"q": "zzz"})
    assert "No pathway matches these filters." in response.content.decode()


def test_an_empty_list_tells_an_admin_how_to_start(personas):
    response = personas.client(personas.admin).get(url(personas, "pathway_list"))
    assert "No pathways yet." in response.content.decode()
    assert "Import a pathway definition" in response.content.decode()


def test_the_list_exports_one_csv_row_per_version(personas, versions):
    response = personas.client(personas.lead).get(url(personas, "pathway_list"), {"format": "csv"})
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [
        (r["Pathway short name"], r["Version"], r["Status"], r["Cases in your sites"]) for r in rows
    ] == [
        ("hospital-to-home", "2", "Active", "1"),
        ("hospital-to-home", "1", "Retired", "3"),
    ]


# --- a version -----------------------------------------------------------------------------------


def test_a_version_reads_as_a_workflow_in_words(personas, versions):
    response = personas.client(personas.supervisor).get(version_url(personas, number=2))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("1. Intake") < html.index("2. Risk stratification") < html.index("4. Weekly")
    assert "Within 48 h of referral" in html
    assert "Within 24 h of each missed contact, for high-risk cases" in html
    assert "Within 168 h (7 days) of completing Risk stratification" in html
    assert "<code>home_risk</code>, <code>medication_risk</code>" in html
    assert html.count("Core · protected") == 3
    assert html.count("Adaptable by site") == 1
    assert (
        "2 missed contacts within 168 h (7 days): escalate within 24 h, for medium- and "
        "high-risk cases" in html
    )
    assert "Reviews." in html
    assert "1 case in your sites follows this version" in html


def test_a_version_page_shows_its_history(personas, versions):
    response = personas.client(personas.admin).get(version_url(personas, number=1))
    history = [(h.status, h.history_change_reason) for h in response.context["history"]]
    assert history == [
        ("retired", "retired: superseded by v2"),
        ("active", "activated"),
        ("draft", "imported as a draft"),
    ]
    assert "Compare with" not in response.content.decode()


def test_a_version_page_names_the_sites_that_adapted_a_step(personas, versions):
    with tenancy.scope(personas.org):
        adaptation = site_adaptation_propose(
            site=personas.south,
            pathway=Pathway.objects.get(),
            step_key="weekly_review",
            what="Fortnightly",
            why="Rural",
            by=personas.lead,
        )
        SiteAdaptation.objects.filter(pk=adaptation.pk).update(status="approved")
    admin_page = personas.client(personas.admin).get(version_url(personas, number=2))
    assert "Adapted at:</strong> south" in admin_page.content.decode()
    supervisor_page = personas.client(personas.supervisor).get(version_url(personas, number=2))
    assert "Adapted at:" not in supervisor_page.content.decode()


def test_a_missing_pathway_or_version_is_404(personas, versions):
    client = personas.client(personas.admin)
    assert client.get(version_url(personas, number=9)).status_code == 404
    assert client.get(version_url(personas, slug="nope")).status_code == 404


def test_a_pathway_of_another_organisation_is_404(personas, versions):
    with tenancy.scope(personas.other_org):
        import_version(example(slug="globex-only"))
    client = personas.client(personas.admin)
    assert client.get(version_url(personas, slug="globex-only")).status_code == 404


def test_a_pathways_address_opens_its_active_version(personas, versions):
    response = personas.client(personas.admin).get(
        url(personas, "pathway_detail", pathway="hospital-to-home")
    )
    assert response.status_code == 302
    assert response["Location"] == version_url(personas, number=2)


def test_the_json_download_is_the_definition_as_an_attachment(personas, versions):
    response = personas.client(personas.commissioner).get(
        version_url(personas, "version_export", number=1)
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="hospital-to-home-v1.json"'
    assert normalised(json.loads(response.content)) == normalised(API_EXAMPLE)


def test_commissioners_may_read_pathway_definitions(personas, versions):
    client = personas.client(personas.commissioner)
    assert client.get(url(personas, "pathway_list")).status_code == 200
    assert client.get(version_url(personas, number=2)).status_code == 200


# --- import --------------------------------------------------------------------------------------


def test_an_admin_imports_an_uploaded_file_as_a_draft(personas, versions):
    upload = SimpleUploadedFile("h2h.json", json.dumps(API_EXAMPLE).encode(), "application/json")
    response = personas.client(personas.admin).post(
        url(personas, "version_import"), {"file": upload, "rationale": "Back to the pilot."}
    )
    assert response.status_code == 302
    assert response["Location"] == version_url(personas, number=3)
    with tenancy.scope(personas.org):
        version = PathwayVersion.objects.get(number=3)
    assert (version.status, version.rationale, version.created_by) == (
        "draft",
        "Back to the pilot.",
        personas.admin,
    )


def test_an_admin_imports_pasted_json_and_activates_it(personas, versions):
    response = personas.client(personas.admin).post(
        url(personas, "version_import"), {"definition": json.dumps(API_EXAMPLE), "activate": "on"}
    )
    assert response.status_code == 302
    assert [status_of(personas, n) for n in (1, 2, 3)] == ["retired", "retired", "active"]


def test_an_invalid_upload_lists_each_path_and_message_and_stores_nothing(personas, versions):
    data = example()
    data["steps"][2]["time_standards"][0]["anchor"] = "discharge"
    data["escalation_rules"][0]["window_hours"] = -1
    response = personas.client(personas.admin).post(
        url(personas, "version_import"), {"definition": json.dumps(data)}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "2 problems" in html
    assert "<code>steps[2].time_standards[0].anchor</code>" in html
    assert "must be one of referral, step:&lt;key&gt;, contact_missed, escalation_raised" in html
    assert "<code>escalation_rules[0].window_hours</code>" in html
    with tenancy.scope(personas.org):
        assert PathwayVersion.objects.count() == 2


def test_pasted_text_that_is_not_json_is_reported_with_its_position(personas, versions):
    response = personas.client(personas.admin).post(
        url(personas, "version_import"), {"definition": '\n{"slug": '}
    )
    assert response.status_code == 400
    assert response.context["errors"] == [("(json)", "line 2, column 10: Expecting value")]


def test_an_import_needs_exactly_one_of_file_and_text(personas, versions):
    response = personas.client(personas.admin).post(url(personas, "version_import"), {})
    assert response.status_code == 400
    assert "Choose a file or paste the JSON" in response.content.decode()


@pytest.mark.parametrize("who", ["lead", "supervisor"])
def test_only_org_admins_may_import(personas, versions, who):
    client = personas.client(getattr(personas, who))
    assert client.get(url(personas, "version_import")).status_code == 403
    response = client.post(url(personas, "version_import"), {"definition": json.dumps(API_EXAMPLE)})
    assert response.status_code == 403
    with tenancy.scope(personas.org):
        assert PathwayVersion.objects.count() == 2


# --- activation ----------------------------------------------------------------------------------


def test_an_admin_activates_a_draft_and_the_active_version_retires(personas, versions):
    with tenancy.scope(personas.org):
        import_version()
    response = personas.client(personas.admin).post(
        version_url(personas, "version_activate", number=3)
    )
    assert response.status_code == 302
    assert [status_of(personas, n) for n in (2, 3)] == ["retired", "active"]


def test_activating_a_non_draft_says_why_it_cannot(personas, versions):
    response = personas.client(personas.admin).post(
        version_url(personas, "version_activate", number=1), follow=True
    )
    assert "only a draft version can be activated" in response.content.decode()
    assert status_of(personas, 1) == "retired"


@pytest.mark.parametrize("who", ["lead", "supervisor"])
@pytest.mark.parametrize("action", ["version_activate", "version_retire"])
def test_only_org_admins_may_activate_or_retire(personas, versions, who, action):
    with tenancy.scope(personas.org):
        import_version()
    client = personas.client(getattr(personas, who))
    assert client.post(version_url(personas, action, number=3)).status_code == 403
    assert [status_of(personas, n) for n in (2, 3)] == ["active", "draft"]


def test_an_admin_retires_the_active_version(personas, versions):
    personas.client(personas.admin).post(version_url(personas, "version_retire", number=2))
    assert status_of(personas, 2) == "retired"


# --- diff ----------------------------------------------------------------------------------------


def test_the_diff_page_compares_the_current_version_with_the_one_before(personas, versions):
    response = personas.client(personas.supervisor).get(
        url(personas, "version_diff", pathway="hospital-to-home")
    )
    assert (response.context["old"].number, response.context["new"].number) == (1, 2)
    assert "Step weekly_review (Weekly case review) added" in response.content.decode()


def test_the_diff_page_compares_the_two_versions_chosen(personas, versions):
    response = personas.client(personas.admin).get(
        url(personas, "version_diff", pathway="hospital-to-home"), {"old": 2, "new": 1}
    )
    assert (
        "Step weekly_review (Weekly case review) removed: it was an adaptable review step."
        in response.content.decode()
    )


def test_the_diff_page_of_a_pathway_with_one_version_says_so(personas):
    with tenancy.scope(personas.org):
        import_version()
    response = personas.client(personas.admin).get(
        url(personas, "version_diff", pathway="hospital-to-home")
    )
    assert "has only one version so far" in response.content.decode()


# --- site adaptations ----------------------------------------------------------------------------


def propose_form(personas, step="hospital-to-home:weekly_review", site="north"):
    return {"site": site, "step": step, "what": "Phone reviews.", "why": "Island geography."}


@pytest.mark.parametrize("who", ["admin", "lead"])
def test_admins_and_leads_propose_an_adaptation(personas, versions, who):
    response = personas.client(getattr(personas, who)).post(
        url(personas, "adaptation_list"), propose_form(personas)
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        adaptation = SiteAdaptation.objects.get()
    assert (adaptation.site, adaptation.step_key, adaptation.status) == (
        personas.north,
        "weekly_review",
        "proposed",
    )


def test_proposing_a_core_step_is_refused_on_the_page_with_the_reason(personas, versions):
    response = personas.client(personas.lead).post(
        url(personas, "adaptation_list"), propose_form(personas, "hospital-to-home:intake")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "is a core step of Hospital-to-home stabilisation v2" in html
    assert "core steps are protected and cannot vary by site" in html
    with tenancy.scope(personas.org):
        assert not SiteAdaptation.objects.exists()


def test_the_propose_form_lists_only_adaptable_steps(personas, versions):
    response = personas.client(personas.lead).get(url(personas, "adaptation_list"))
    choices = response.context["form"].fields["step"].widget.choices
    assert choices == [
        (
            "Hospital-to-home stabilisation",
            [("hospital-to-home:weekly_review", "Weekly case review (weekly_review)")],
        )
    ]


def test_supervisors_cannot_propose_or_decide(personas, versions):
    client = personas.client(personas.supervisor)
    assert client.post(url(personas, "adaptation_list"), propose_form(personas)).status_code == 403
    with tenancy.scope(personas.org):
        adaptation = site_adaptation_propose(
            site=personas.north,
            pathway=Pathway.objects.get(),
            step_key="weekly_review",
            what="w",
            why="y",
            by=personas.lead,
        )
    decide = url(personas, "adaptation_decide", pk=adaptation.pk)
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    assert client.get(url(personas, "adaptation_detail", pk=adaptation.pk)).status_code == 200


@pytest.fixture
def adaptations(personas, versions):
    with tenancy.scope(personas.org):
        pathway = Pathway.objects.get()
        return {
            site.code: site_adaptation_propose(
                site=site,
                pathway=pathway,
                step_key="weekly_review",
                what=f"Phone reviews at {site.code}.",
                why="Geography.",
                by=personas.lead,
            )
            for site in (personas.north, personas.south)
        }


def test_a_lead_approves_a_proposal_and_its_history_shows_both_steps(personas, adaptations):
    client = personas.client(personas.lead)
    detail = url(personas, "adaptation_detail", pk=adaptations["north"].pk)
    response = client.post(
        url(personas, "adaptation_decide", pk=adaptations["north"].pk), {"decision": "approve"}
    )
    assert response["Location"] == detail
    page = client.get(detail)
    assert [(h.status, h.history_user) for h in page.context["history"]] == [
        ("approved", personas.lead),
        ("proposed", personas.lead),
    ]
    assert b"Approve</button>" not in page.content


def test_an_admin_rejects_a_proposal(personas, adaptations):
    personas.client(personas.admin).post(
        url(personas, "adaptation_decide", pk=adaptations["south"].pk), {"decision": "reject"}
    )
    adaptations["south"].refresh_from_db()
    assert adaptations["south"].status == "rejected"


def test_supervisors_see_only_the_adaptations_of_their_sites(personas, adaptations):
    client = personas.client(personas.supervisor)
    rows = client.get(url(personas, "adaptation_list")).context["rows"]
    assert [a.site.code for a in rows] == ["north"]
    south = url(personas, "adaptation_detail", pk=adaptations["south"].pk)
    assert client.get(south).status_code == 404


def test_the_adaptation_list_filters_and_exports_csv(personas, adaptations):
    client = personas.client(personas.admin)
    rows = client.get(url(personas, "adaptation_list"), {"site": "south"}).context["rows"]
    assert [a.site.code for a in rows] == ["south"]
    response = client.get(url(personas, "adaptation_list"), {"format": "csv", "site": "north"})
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["Site"], r["Step"], r["Status"], r["What changes"]) for r in lines] == [
        (personas.north.name, "Weekly case review", "Proposed", "Phone reviews at north.")
    ]


def test_commissioners_see_adaptation_counts_but_not_what_or_why(personas, adaptations):
    client = personas.client(personas.commissioner)
    response = client.get(url(personas, "adaptation_list"))
    assert response.status_code == 200
    assert [(r["site__code"], r["proposed"]) for r in response.context["rows"]] == [("north", 1)]
    assert "Phone reviews" not in response.content.decode()
    detail = url(personas, "adaptation_detail", pk=adaptations["north"].pk)
    assert client.get(detail).status_code == 403


def test_the_adaptation_list_says_when_there_are_none(personas, versions):
    response = personas.client(personas.lead).get(url(personas, "adaptation_list"))
    assert "No site adaptations yet" in response.content.decode()


def test_the_diff_page_shows_what_a_newer_draft_would_change(personas, versions):
    with tenancy.scope(personas.org):
        import_version()  # v3, a draft without the weekly review
    response = personas.client(personas.admin).get(
        url(personas, "version_diff", pathway="hospital-to-home")
    )
    assert (response.context["old"].number, response.context["new"].number) == (2, 3)
    assert (
        "Step weekly_review (Weekly case review) removed: it was an adaptable review step."
        in response.content.decode()
    )


def test_the_adaptation_list_query_count_does_not_grow_with_adaptations(
    personas, versions, django_assert_max_num_queries
):
    client = personas.client(personas.lead)
    with tenancy.scope(personas.org):
        pathway = Pathway.objects.get()

        def add(count):
            for index in range(count):
                site_adaptation_propose(
                    site=personas.north if index % 2 else personas.south,
                    pathway=pathway,
                    step_key="weekly_review",
                    what=f"Variation {index}",
                    why="Local context.",
                    by=personas.lead,
                )

        add(1)
    with django_assert_max_num_queries(9):
        client.get(url(personas, "adaptation_list"))
    with tenancy.scope(personas.org):
        add(30)
    with django_assert_max_num_queries(9):
        response = client.get(url(personas, "adaptation_list"))
    assert len(response.context["rows"]) == 25
