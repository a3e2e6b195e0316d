"""Rows dated outside the plausible window stored before the API refused them (an event in 0206,
a referral in year 1): every computation leaves them out and says so instead of failing the whole
organisation, the case page renders and names them, and ``repair_implausible_times`` lists and
repairs them. The rows are written straight to the table, as they were then."""

import io
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from pathways.models import Case, CaseEvent, ExceptionReport
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    event,
    lines_of,
    make_case,
    overdue_case,
)

YEAR_206 = datetime(206, 11, 2, 10, tzinfo=UTC)
YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)


@pytest.fixture
def healthy(personas, tenant):
    """Cases whose report is known without any implausible row: C-1 overdue at North, C-2 late at
    South, C-3 with a missed contact at North."""
    version = build_version()
    overdue_case(version, personas.north, "C-1", tier="high")
    late = make_case(version, personas.south, "C-2", at(DAY - timedelta(days=2), 8))
    complete(late, "intake", at(DAY, 12))
    missed = make_case(version, personas.north, "C-3", at(DAY - timedelta(days=1), 8), "high")
    event(missed, "contact_missed", at(DAY, 9))
    return version


def poison(personas, version) -> tuple[Case, CaseEvent]:
    """A year-1 referral and an event of year 206 (a closure: counted, it would void C-1's
    obligations), written through the unscoped manager as the API once let them in."""
    c1 = Case.dangerously_unscoped.get(organization=personas.org, external_ref="C-1")
    typo = CaseEvent.dangerously_unscoped.create(
        organization=personas.org,
        event_id="evt-typo",
        case=c1,
        type="case_closed",
        occurred_at=YEAR_206,
        content_hash="0" * 64,
    )
    year_one = Case.dangerously_unscoped.create(
        organization=personas.org,
        external_ref="C-BC",
        site=personas.north,
        version=version,
        referral_at=YEAR_1,
        risk_tier="high",
    )
    CaseEvent.dangerously_unscoped.create(
        organization=personas.org,
        event_id="evt-of-year-one-case",
        case=year_one,
        type="contact_missed",
        occurred_at=at(DAY, 10),
        content_hash="1" * 64,
    )
    return year_one, typo


def compute(personas, **kwargs) -> ExceptionReport:
    return exception_report_compute(organization=personas.org, date=DAY, **kwargs)


def test_report_leaves_the_rows_out_and_equals_the_report_without_them(personas, healthy):
    clean = lines_of(compute(personas))
    poison(personas, healthy)
    report = compute(personas, full=True)
    assert lines_of(report) == clean
    assert (report.implausible_cases, report.implausible_events) == (1, 1)
    assert report.skipped == (
        "1 case and 1 event left out: dated before 1900-01-01 or in the future; run manage.py "
        "repair_implausible_times --org acme to list and repair them"
    )


def test_report_built_on_the_previous_day_leaves_them_out_too(personas, healthy):
    poison(personas, healthy)
    exception_report_compute(organization=personas.org, date=DAY - timedelta(days=1))
    report = compute(personas)
    assert report.incremental
    assert lines_of(report) == lines_of(compute(personas, full=True))
    assert (report.implausible_cases, report.implausible_events) == (1, 1)


def test_rows_dated_in_the_future_are_left_out_of_the_day_still_running(personas, healthy):
    noon = at(DAY, 12)
    with tenancy.scope(personas.org):
        c1 = Case.objects.get(external_ref="C-1")
        complete(c1, "intake", noon + timedelta(hours=6))
    with mock.patch("django.utils.timezone.now", return_value=noon):
        report = compute(personas, full=True)
    # Counted, the completion would turn C-1's overdue intake into a late one.
    assert ("C-1", "overdue_step") in {(line[0], line[2]) for line in lines_of(report)}
    assert (report.implausible_cases, report.implausible_events) == (0, 1)


def test_the_next_day_evaluates_again_a_case_whose_event_lay_in_the_runs_future(personas, healthy):
    noon = at(DAY, 12)
    with tenancy.scope(personas.org):
        # Sent (and the case last edited) before the day's report ran at noon.
        Case.objects.filter(external_ref="C-1").update(updated_at=at(DAY, 11))
        c1 = Case.objects.get(external_ref="C-1")
        ahead = complete(c1, "intake", noon + timedelta(hours=6))
        CaseEvent.objects.filter(pk=ahead.pk).update(received_at=at(DAY, 11))
    with mock.patch("django.utils.timezone.now", return_value=noon):
        compute(personas, full=True)
    next_day = DAY + timedelta(days=1)
    built = exception_report_compute(organization=personas.org, date=next_day)
    assert built.incremental
    built_lines = lines_of(built)
    full = exception_report_compute(organization=personas.org, date=next_day, full=True)
    assert built_lines == lines_of(full)
    assert "C-1" not in {line[0] for line in built_lines}


def test_queue_says_what_the_report_left_out(personas, healthy):
    poison(personas, healthy)
    compute(personas)
    url = reverse("exception_queue", kwargs={"org": "acme"})
    body = personas.client(personas.supervisor).get(url).content.decode()
    assert '<li class="warning" id="skipped-rows">1 case and 1 event left out' in body


def test_queue_says_nothing_when_nothing_was_left_out(personas, healthy):
    compute(personas)
    url = reverse("exception_queue", kwargs={"org": "acme"})
    assert "skipped-rows" not in personas.client(personas.supervisor).get(url).content.decode()


def test_command_summary_names_what_was_left_out(personas, healthy):
    poison(personas, healthy)
    out = io.StringIO()
    with tenancy.isolated():
        call_command(
            "compute_exceptions", "--org", "acme", "--date", f"{DAY}", "--no-progress", stdout=out
        )
    assert "; 1 case and 1 event left out: dated before 1900-01-01" in out.getvalue()


def case_page(personas, ref):
    url = reverse("case_detail", kwargs={"org": "acme", "external_ref": ref})
    return personas.client(personas.supervisor).get(url)


def test_case_page_with_an_implausible_event_renders_and_names_it(personas, healthy):
    poison(personas, healthy)
    response = case_page(personas, "C-1")
    assert response.status_code == 200
    body = response.content.decode()
    assert "event <code>evt-typo</code> (Case closed), dated <code>0206-11-02 10:00:00" in body
    # The closure is not applied: C-1's intake is still overdue, and it is not on the timeline.
    assert ("intake", "overdue") in {
        (o["step"], o["status"]) for o in response.context["obligations"]
    }
    assert [e.event_id for e in response.context["events"]] == []


def test_case_page_with_an_implausible_referral_renders_and_says_so(personas, healthy):
    poison(personas, healthy)
    response = case_page(personas, "C-BC")
    assert response.status_code == 200
    body = response.content.decode()
    assert "referral date unusable" in body
    assert "the referral date, stored as <code>0001-01-01 00:00:00" in body
    assert response.context["obligations"] == []
    assert [e.event_id for e in response.context["events"]] == ["evt-of-year-one-case"]


def test_case_page_without_implausible_rows_says_nothing_of_them(personas, healthy):
    assert "ignored-rows" not in case_page(personas, "C-1").content.decode()


def repair(*args) -> str:
    out = io.StringIO()
    with tenancy.isolated():
        call_command("repair_implausible_times", "--org", "acme", *args, stdout=out)
    return out.getvalue()


def test_command_lists_the_rows_in_users_words_and_changes_nothing(personas, healthy):
    poison(personas, healthy)
    out = repair()
    assert "case C-BC at North: referral date stored as 0001-01-01 00:00:00" in out
    assert "event evt-typo (Case closed) of case C-1 at North: dated 0206-11-02 10:00:00" in out
    assert out.rstrip().endswith(
        "acme: 1 case and 1 event dated outside the window, left out of every computation. "
        "Run again with --fix to repair them."
    )
    assert CaseEvent.dangerously_unscoped.filter(event_id="evt-typo").exists()
    assert Case.dangerously_unscoped.get(external_ref="C-BC").referral_at == YEAR_1


def test_fix_deletes_the_events_and_gives_the_case_the_time_it_was_received(personas, healthy):
    year_one, _ = poison(personas, healthy)
    out = repair("--fix")
    assert "event evt-typo (Case closed) of case C-1 at North: dated 0206-11-02 10:00:00" in out
    assert "; deleted (the partner can send it again with the right date)" in out
    assert "when the platform received the case" in out
    assert "acme: repaired 1 case and 1 event" in out
    assert not CaseEvent.dangerously_unscoped.filter(event_id="evt-typo").exists()
    repaired = Case.dangerously_unscoped.get(pk=year_one.pk)
    assert repaired.referral_at == year_one.created_at
    assert repaired.updated_at > year_one.updated_at
    assert repair().rstrip().endswith("acme: no case or event dated outside the window.")


def test_fix_is_all_or_nothing(personas, healthy, monkeypatch):
    poison(personas, healthy)

    def refuse(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", refuse)
    with pytest.raises(RuntimeError):
        repair("--fix")
    assert CaseEvent.dangerously_unscoped.filter(event_id="evt-typo").exists()


def test_fix_leaves_other_organisations_alone(personas, healthy):
    poison(personas, healthy)
    with tenancy.scope(personas.other_org):
        version = build_version()
        outsider = make_case(version, personas.other_site, "G-1", at(DAY, 9))
        event(outsider, "contact_missed", YEAR_206)
    repair("--fix")
    assert CaseEvent.dangerously_unscoped.filter(
        organization=personas.other_org, occurred_at=YEAR_206
    ).exists()


def test_an_unknown_organisation_is_a_clear_error(personas):
    with pytest.raises(CommandError, match="No organisation with slug 'nope'; known: "):
        call_command("repair_implausible_times", "--org", "nope", stdout=io.StringIO())


def store_bc_referral(case) -> str:
    """Stores the referral a PUT of ``0001-01-01T00:00:00+14:00`` once left: a BC instant that
    Python cannot hold (PostgreSQL stores it; SQLite, as the text it would hold). Returns the
    stored value as the database shows it."""
    table = connection.ops.quote_name(Case._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET referral_at = %s::timestamptz WHERE id = %s",  # noqa: S608
                ["0001-01-01T00:00:00+14:00", case.pk],
            )
            return "0001-12-31 10:00:00+00 BC"
        cursor.execute(
            f"UPDATE {table} SET referral_at = %s WHERE id = %s",  # noqa: S608
            ["0000-12-31 10:00:00", case.pk],
        )
        return "0000-12-31 10:00:00"


def test_a_bc_referral_is_left_out_shown_and_repaired(personas, healthy):
    clean = lines_of(compute(personas))
    with tenancy.scope(personas.org):
        bc = make_case(healthy, personas.north, "C-BC", at(DAY, 9), "high")
    stored = store_bc_referral(bc)
    report = compute(personas, full=True)
    assert lines_of(report) == clean
    assert report.implausible_cases == 1
    response = case_page(personas, "C-BC")
    assert response.status_code == 200
    assert f"the referral date, stored as <code>{stored}</code>" in response.content.decode()
    assert f"case C-BC at North: referral date stored as {stored}" in repair()
    repair("--fix")
    repaired = Case.dangerously_unscoped.get(pk=bc.pk)
    assert repaired.referral_at == repaired.created_at


def test_pages_listing_a_bc_referral_case_exceptions_still_render(personas, healthy):
    compute(personas)
    with tenancy.scope(personas.org):
        c1 = Case.objects.get(external_ref="C-1")
        item = c1.exception_items.first()
    store_bc_referral(c1)
    client = personas.client(personas.supervisor)
    queue = reverse("exception_queue", kwargs={"org": "acme"})
    assert client.get(queue).status_code == 200
    assert client.get(queue, {"format": "csv"}).status_code == 200
    detail = reverse("exception_detail", kwargs={"org": "acme", "pk": item.pk})
    assert client.get(detail).status_code == 200


def test_the_api_reads_a_bc_referral_case_as_a_conflict_and_a_put_repairs_it(personas, healthy):
    from tests.pathways.api_helpers import partner_client

    with tenancy.scope(personas.org):
        bc = make_case(healthy, personas.north, "C-BC", at(DAY, 9), "high")
        pathway = bc.version.pathway.slug
    store_bc_referral(bc)
    client = partner_client(personas.org, [personas.north])
    response = client.get("/api/v1/cases/C-BC/")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "referral_at"
    payload = {
        "site": "north",
        "pathway": pathway,
        "referral_at": "2026-03-01T09:00:00+00:00",
        "risk_tier": "high",
    }
    assert client.put("/api/v1/cases/C-BC/", payload, format="json").status_code == 200
    response = client.get("/api/v1/cases/C-BC/")
    assert response.status_code == 200
    assert response.json()["referral_at"] == "2026-03-01T09:00:00+00:00"
