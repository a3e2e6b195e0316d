"""Assurance pages: who sees what (commissioners: their sites, aggregates only, never a case ref,
never a write), filters, CSV, the recompute button, and query counts that do not grow with rows."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from assurance.models import AssuranceSnapshot, AuditSample, DriftSignal, Incident
from assurance.services import (
    audit_sample_draw,
    baseline_save,
    incident_create,
)
from pathways.models import Case
from scaling_ops import tenancy
from tests.assurance.contract_helpers import snapshot
from tests.assurance.helpers import APRIL_5, MONTH, march
from tests.routes import org_routes

ASSURANCE_ROUTES = [r for r in org_routes() if (r.name or "").startswith("assurance_")]


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def concrete_urls(personas, assured) -> list[str]:
    values = {
        "assurance_snapshot_detail": assured["snapshot"].pk,
        "assurance_drift_detail": assured["signal"].pk,
        "assurance_audit_detail": assured["sample"].pk,
        "assurance_audit_record": assured["record"].pk,
        "assurance_incident_detail": assured["incident"].pk,
    }
    urls = []
    for route in ASSURANCE_ROUTES:
        pk = values.get(route.name)
        urls.append(route.url(org=personas.org.slug, **({"pk": str(pk)} if pk else {})))
    return urls


def test_every_assurance_page_renders_for_an_org_admin(personas, assured):
    client = personas.client(personas.admin)
    for target in concrete_urls(personas, assured):
        if target.endswith(("/recompute/", "/import/", "/improvement-action/")):
            continue  # POST only
        response = client.get(target)
        assert response.status_code == 200, target


def test_a_commissioner_never_receives_a_case_ref(personas, assured):
    client = personas.client(personas.commissioner)
    seen_ok = 0
    month = "?month=2026-03"
    for target in concrete_urls(personas, assured):
        for suffix in ("", month, "?format=csv", month + "&format=csv"):
            response = client.get(target + suffix)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            text = body.decode()
            for ref in assured["refs"]:
                assert ref not in text, f"{ref} leaked in {target}{suffix}"
            seen_ok += response.status_code == 200
    assert seen_ok > 20  # the dashboards, snapshots and exports did render for them


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_a_commissioner_cannot_write_anything_in_assurance(personas, assured, method):
    client = personas.client(personas.commissioner)
    for target in concrete_urls(personas, assured):
        response = getattr(client, method)(target, data={"month": "2026-03"})
        assert response.status_code == 403, target
    with tenancy.scope(personas.org):
        assert AssuranceSnapshot.objects.filter(site=personas.north).count() == 1


def test_a_commissioner_may_not_read_audits_or_incidents(personas, assured):
    client = personas.client(personas.commissioner)
    for name, kwargs in [
        ("assurance_audit_list", {}),
        ("assurance_audit_detail", {"pk": assured["sample"].pk}),
        ("assurance_incident_list", {}),
        ("assurance_incident_detail", {"pk": assured["incident"].pk}),
    ]:
        assert client.get(url(personas, name, **kwargs)).status_code == 403


def test_a_commissioner_sees_no_edit_controls(personas, assured):
    client = personas.client(personas.commissioner)
    for name, kwargs in [
        ("assurance_overview", {}),
        ("assurance_snapshot_list", {}),
        ("assurance_drift_detail", {"pk": assured["signal"].pk}),
        ("assurance_baseline_list", {}),
        ("assurance_settings", {}),
    ]:
        html = client.get(url(personas, name, **kwargs)).content.decode()
        main = html.split("<main ", 1)[1]  # the header's log-out form is not an edit control
        assert 'method="post"' not in main, name
        assert '<button type="submit">Record' not in main


def test_a_commissioner_sees_only_the_sites_they_hold(personas, assured):
    client = personas.client(personas.commissioner)
    overview = client.get(url(personas, "assurance_overview") + "?month=2026-03")
    assert [row["site"] for row in overview.context["report"].site_rows] == [personas.north]
    south = url(personas, "assurance_snapshot_detail", pk=assured["south_snapshot"].pk)
    assert client.get(south).status_code == 404
    export = client.get(url(personas, "assurance_export") + "?month=2026-03").content.decode()
    sites = {row["Site"] for row in csv.DictReader(io.StringIO(export))}
    assert sites == {personas.north.name}


def test_the_overview_shows_the_network_figures_of_the_month(personas, assured):
    response = personas.client(personas.admin).get(url(personas, "assurance_overview"))
    report = response.context["report"]
    assert response.context["month"] == MONTH
    timeliness = next(h for h in report.headlines if h.code == "timeliness")
    # North 2/7 and South 1/2 pooled: 3/9.
    assert timeliness.value == pytest.approx(100 * 3 / 9)
    assert 'class="chart"' in response.content.decode()
    assert "js/plotly-basic.min.js" in response.content.decode()


def test_the_monthly_export_has_one_row_per_figure(personas, assured):
    response = personas.client(personas.admin).get(
        url(personas, "assurance_export") + "?month=2026-03"
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    timeliness = next(
        r
        for r in rows
        if r["Site"] == "North" and r["Measure"] == "Timeliness compliance"
        and r["Dimension"] == "All" and r["Step"] == ""
    )  # fmt: skip
    assert (timeliness["Numerator"], timeliness["Denominator"], timeliness["Revision"]) == (
        "2",
        "7",
        "1",
    )


def test_recompute_writes_a_new_revision_and_the_old_stays_listed(
    personas, assured, django_capture_on_commit_callbacks
):
    client = personas.client(personas.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(personas, "assurance_recompute"), {"month": "2026-03"})
    assert response.status_code == 302
    listing = client.get(url(personas, "assurance_snapshot_list") + "?site=north")
    revisions = [(s.revision, s.superseded) for s in listing.context["page"]]
    assert revisions == [(2, False), (1, True)]
    old = client.get(url(personas, "assurance_snapshot_detail", pk=assured["snapshot"].pk))
    assert "superseded" in old.content.decode()


def test_a_supervisor_cannot_recompute(personas, assured):
    response = personas.client(personas.supervisor).post(
        url(personas, "assurance_recompute"), {"month": "2026-03"}
    )
    assert response.status_code == 403


def test_a_supervisor_sees_only_samples_of_their_sites(personas, assured):
    with tenancy.scope(personas.org):
        south = audit_sample_draw(site=personas.south, month=MONTH, seed=1, size=1, now=APRIL_5)
    client = personas.client(personas.supervisor)
    assert client.get(url(personas, "assurance_audit_detail", pk=south.pk)).status_code == 404
    listing = client.get(url(personas, "assurance_audit_list"))
    assert [s.site for s in listing.context["page"]] == [personas.north]


def test_an_audit_is_recorded_through_the_form(personas, assured):
    record = assured["record"]
    response = personas.client(personas.supervisor).post(
        url(personas, "assurance_audit_record", pk=record.pk),
        {
            "documentation_complete": "yes",
            "steps_evidenced": "yes",
            "escalation_appropriate": "yes",
            "notes": "all good",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.score == 100.0


def test_a_sample_is_drawn_through_the_form_with_its_seed(personas, assured):
    response = personas.client(personas.lead).post(
        url(personas, "assurance_audit_list"),
        {"site": "south", "month": "2026-03", "kind": "routine", "size": "1", "seed": "99"},
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        sample = AuditSample.objects.get(site=personas.south)
        assert (sample.seed, sample.records.count()) == (99, 1)


def test_an_incident_is_recorded_through_the_form(personas, assured):
    response = personas.client(personas.supervisor).post(
        url(personas, "assurance_incident_list"),
        {
            "site": "north",
            "kind": "near_miss",
            "severity": "no_harm",
            "occurred_at": "2026-03-20T10:00",
            "summary": "Wrong address on the visit list",
            "failed_steps": ["intake"],
        },
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        incident = Incident.objects.get(summary="Wrong address on the visit list")
    assert incident.failed_steps == ["intake"]
    assert incident.reported_by == personas.supervisor


def test_the_incident_page_offers_to_raise_an_improvement_action(personas, assured):
    html = (
        personas.client(personas.lead)
        .get(url(personas, "assurance_incident_detail", pk=assured["incident"].pk))
        .content.decode()
    )
    assert "Raise improvement action" in html
    assert "not installed yet" not in html


def test_the_standard_response_is_recorded_on_the_drift_page(personas, assured):
    response = personas.client(personas.supervisor).post(
        url(personas, "assurance_drift_detail", pk=assured["signal"].pk),
        {
            "coaching": "Educator on follow-ups",
            "extra_supervision": "Weekly",
            "reaudit_until": "2026-05-15",
            "status": "responding",
        },
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        signal = DriftSignal.objects.get(pk=assured["signal"].pk)
    assert (signal.status, signal.reaudit_until) == ("responding", date(2026, 5, 15))


def test_baselines_import_from_csv_and_export_again(personas, assured):
    text = (
        "name,kind,site,period,source,risk_tier,rate,population\n"
        "Matched 2026,matched,north,2026,study,low,5,100\n"
        "Matched 2026,matched,north,2026,study,medium,10,100\n"
        "Matched 2026,matched,north,2026,study,high,20,50\n"
    )
    upload = io.BytesIO(text.encode())
    upload.name = "baselines.csv"
    client = personas.client(personas.lead)
    client.post(url(personas, "assurance_baseline_import"), {"file": upload})
    export = client.get(url(personas, "assurance_baseline_list") + "?format=csv").content.decode()
    rows = [r for r in csv.DictReader(io.StringIO(export)) if r["Name"] == "Matched 2026"]
    assert [(r["Risk tier"], r["Rate"], r["Population"]) for r in rows] == [
        ("high", "20", "50"),
        ("low", "5", "100"),
        ("medium", "10", "100"),
    ]


def test_a_bad_baseline_csv_stores_nothing(personas, assured):
    text = "name,kind,site,risk_tier,rate,population\nBad,matched,,low,5,100\n"
    upload = io.BytesIO(text.encode())
    upload.name = "bad.csv"
    response = personas.client(personas.lead).post(
        url(personas, "assurance_baseline_import"), {"file": upload}, follow=True
    )
    assert "Nothing imported" in response.content.decode()
    assert "missing: medium, high" in response.content.decode()


def test_settings_are_changed_by_a_lead_with_history(personas, assured):
    client = personas.client(personas.lead)
    response = client.post(
        url(personas, "assurance_settings"),
        {
            "equity_margin": "8",
            "equity_widening_months": "3",
            "drift_margin": "12",
            "min_denominator": "20",
            "audit_sample_size": "6",
            "reaudit_window_days": "45",
            "adverse_outcomes": "readmission, crisis_admission",
            "surge_factor": "1.25",
            "vacancy_threshold": "0.15",
            "stability_window_months": "12",
        },
    )
    assert response.status_code == 302
    page = client.get(url(personas, "assurance_settings"))
    assert page.context["settings"].adverse_outcomes == ["readmission", "crisis_admission"]
    assert len(page.context["history"]) >= 1


def test_the_equity_page_filters_and_exports(personas, assured):
    client = personas.client(personas.admin)
    response = client.get(
        url(personas, "assurance_equity") + "?month=2026-03&site=north&dimension=language_need"
    )
    rows = response.context["rows"]
    assert rows and {r.finding.dimension for r in rows} == {"language_need"}
    exported = client.get(
        url(personas, "assurance_equity") + "?month=2026-03&site=north&format=csv"
    ).content.decode()
    assert ",Language need," in exported and "language_need" not in exported


def test_run_charts_draw_control_limits_per_site(personas, assured):
    response = personas.client(personas.admin).get(
        url(personas, "assurance_run_charts") + "?measure=timeliness&month=2026-03"
    )
    panels = response.context["panels"]
    assert [p["site"].code for p in panels] == ["north", "south"]
    assert panels[0]["points"][-1].value == pytest.approx(100 * 2 / 7)


def test_pages_without_snapshots_say_so_and_offer_a_compute_to_leads(personas):
    response = personas.client(personas.lead).get(url(personas, "assurance_overview"))
    html = response.content.decode()
    assert "No monthly assurance snapshot" in html
    assert 'name="month"' in html


def test_the_home_page_shows_an_assurance_card(personas, assured):
    html = personas.client(personas.commissioner).get(url(personas, "org_home")).content.decode()
    assert "Monthly assurance" in html


def more_rows(personas, count):
    """More snapshots, signals, samples, incidents and baselines in several months."""
    with tenancy.scope(personas.org):
        version = Case.objects.first().version
        for number in range(count):
            month = date(2025, 1 + number % 12, 1)
            for site in (personas.north, personas.south):
                snapshot = AssuranceSnapshot(
                    site=site, month=month, revision=1 + number // 12, computed_at=APRIL_5,
                    cutoff=APRIL_5,
                )  # fmt: skip
                snapshot.save()
                DriftSignal(
                    site=site, month=month, measure="timeliness", basis=f"b{number}"[:10],
                    value=1, reference=2, margin=1, denominator=10, snapshot=snapshot,
                    raised_at=APRIL_5, reaudit_from=month, reaudit_until=month,
                ).save()  # fmt: skip
            ref = f"MORE{number}"
            extra = Case.objects.create(
                external_ref=ref, site=personas.north, version=version,
                referral_at=datetime(2025, 1 + number % 12, 10, tzinfo=UTC), risk_tier="low",
            )  # fmt: skip
            incident_create(
                site=personas.north, kind="incident", severity="low", occurred_at=march(10),
                summary=f"more {number}", failed_steps=["intake"], case_ref=extra.external_ref,
            )  # fmt: skip
            baseline_save(
                name=f"B{number}", kind="matched",
                rates={"low": (1, 1), "medium": (1, 1), "high": (1, 1)},
            )  # fmt: skip
            audit_sample_draw(
                site=personas.north, month=date(2025, 1 + number % 12, 1), seed=number, size=1,
                kind="routine" if number < 12 else "reaudit", now=APRIL_5,
            )  # fmt: skip


# (page, query string, the most queries it may make: session, user, membership, sites...)
LIST_PAGES = [
    ("assurance_snapshot_list", "", 6),
    ("assurance_drift_list", "?status=", 11),  # +1: the chart labels months still running
    ("assurance_audit_list", "", 6),
    ("assurance_incident_list", "", 8),  # +1: the step names of the step filter
    ("assurance_baseline_list", "", 7),
    ("assurance_metric_list", "", 4),
    # +1: the months still running; +1: the contract targets of the headline cards; +1: the
    # pathway step names of the incidents table
    ("assurance_overview", "?month=2026-03", 17),
]


@pytest.mark.parametrize("name, query, pinned", LIST_PAGES)
def test_list_page_queries_are_pinned_and_do_not_grow_with_rows(
    personas, assured, name, query, pinned, django_assert_max_num_queries
):
    client = personas.client(personas.admin)
    target = url(personas, name) + query
    client.get(target)  # warm caches (content types, sessions)
    with django_assert_max_num_queries(pinned):
        assert client.get(target).status_code == 200
    more_rows(personas, 20)
    with django_assert_max_num_queries(pinned):
        assert client.get(target).status_code == 200


def test_the_printable_pack_uses_the_print_stylesheet(personas, assured):
    html = (
        personas.client(personas.commissioner)
        .get(url(personas, "assurance_pack") + "?month=2026-03")
        .content.decode()
    )
    assert "Monthly assurance pack" in html
    assert "css/app.css" in html
    assert re.search(r'class="[^"]*no-print', html)


def test_an_improvement_action_reference_is_kept_on_the_drift_signal(personas, assured):
    personas.client(personas.lead).post(
        url(personas, "assurance_drift_detail", pk=assured["signal"].pk),
        {
            "coaching": "",
            "extra_supervision": "",
            "reaudit_until": "2026-04-30",
            "status": "open",
            "improvement_action_ref": "IA-12",
        },
    )
    with tenancy.scope(personas.org):
        assert DriftSignal.objects.get(pk=assured["signal"].pk).improvement_action_ref == "IA-12"


def test_the_overview_opens_on_the_last_complete_month_and_labels_the_running_one(
    personas, assured
):
    with tenancy.scope(personas.org):
        snapshot(
            personas.north,
            date(2026, 4, 1),
            {"timeliness": (1, 4)},
            partial=True,
            cutoff=APRIL_5 + timedelta(days=5),
        )
    client = personas.client(personas.commissioner)
    for name in ("assurance_overview", "assurance_pack"):
        response = client.get(url(personas, name))
        assert response.context["month"] == MONTH, name
        assert "April 2026, partial (to 10 Apr 2026)</option>" in response.content.decode()
    running = client.get(url(personas, "assurance_overview") + "?month=2026-04")
    assert "<h1>Assurance · April 2026, partial (to 10 Apr 2026)</h1>" in running.content.decode()
    export = client.get(url(personas, "assurance_export"))
    labels = {
        (r["Month"], r["Partial"]) for r in csv.DictReader(io.StringIO(export.content.decode()))
    }
    assert labels == {("2026-03", ""), ("2026-04", "partial (to 10 Apr 2026)")}
