"""What the monthly snapshot reads: only the cases that can land a figure in the month (an
assessment or an outcome in it, or their referral, a step's completion or an anchoring event within the longest time
standard on that anchor before it), with the same figures as reading every case; a fixed number
of queries per chunk."""

from datetime import date

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from assurance.models import SnapshotValue
from assurance.services import assurance_snapshot_compute, month_window
from assurance.services import snapshots as snapshot_service
from pathways.models import Case
from pathways.selectors.obligations import engine_definitions
from tests.assurance.helpers import APRIL_5, MONTH, build_month, case, march
from tests.pathways.exception_helpers import at, complete, event


@pytest.fixture
def month(personas, tenant):
    """The hand-built March, plus cases outside and at the edge of its reach (the small
    pathway's standards: 48 hours from the referral, 72 from the intake, 24 from a missed
    contact)."""
    cases = build_month(personas)
    version = cases["version"]
    old_closed = Case.objects.create(
        external_ref="OLD-CLOSED",
        site=personas.north,
        version=version,
        referral_at=at(date(2026, 1, 10), 9),
        risk_tier="medium",
    )
    complete(old_closed, "intake", at(date(2026, 1, 11), 9))
    event(old_closed, "case_closed", at(date(2026, 1, 30), 9))
    old_open = Case.objects.create(
        external_ref="OLD-OPEN",
        site=personas.north,
        version=version,
        referral_at=at(date(2026, 1, 10), 9),
        risk_tier="medium",
    )
    complete(old_open, "intake", at(date(2026, 1, 11), 9))
    # Referred on 27 February: its intake (48 hours) falls due on 1 March.
    edge = Case.objects.create(
        external_ref="EDGE",
        site=personas.south,
        version=version,
        referral_at=at(date(2026, 2, 27), 9),
        risk_tier="medium",
    )
    # Old, but a missed contact on 28 February anchors a follow-up due in March.
    missed = Case.objects.create(
        external_ref="MISSED",
        site=personas.south,
        version=version,
        referral_at=at(date(2026, 1, 10), 9),
        risk_tier="high",
    )
    complete(missed, "intake", at(date(2026, 1, 11), 9))
    event(missed, "contact_missed", at(date(2026, 2, 28), 15))
    # Old, with a contact made on 27 February: a contact anchors nothing, so nothing of this
    # case can fall due in March.
    quiet = Case.objects.create(
        external_ref="QUIET",
        site=personas.north,
        version=version,
        referral_at=at(date(2026, 1, 10), 9),
        risk_tier="medium",
    )
    complete(quiet, "intake", at(date(2026, 1, 11), 9))
    event(quiet, "contact_made", at(date(2026, 2, 27), 9))
    # Old, but its intake on 27 February anchors its assessment (72 hours), due on 2 March.
    late_intake = Case.objects.create(
        external_ref="LATE-INTAKE",
        site=personas.north,
        version=version,
        referral_at=at(date(2026, 1, 10), 9),
        risk_tier="medium",
    )
    complete(late_intake, "intake", at(date(2026, 2, 27), 9))
    return {
        **cases,
        "old_closed": old_closed,
        "old_open": old_open,
        "edge": edge,
        "missed": missed,
        "quiet": quiet,
        "late_intake": late_intake,
    }


def figures(snapshots) -> set[tuple]:
    return set(
        SnapshotValue.objects.filter(snapshot__in=snapshots).values_list(
            "snapshot__site_id", "measure", "step", "dimension", "segment", "numerator",
            "denominator", "value",
        )
    )  # fmt: skip


def compute(personas, **kwargs):
    return assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5, **kwargs)


def test_only_cases_within_the_months_reach_are_read(personas, month):
    start, end = month_window(organization=personas.org, month=MONTH)
    read = snapshot_service.month_case_ids(
        engine_definitions(), start=start, end=end, cutoff=end, now=APRIL_5
    )
    refs = set(Case.objects.filter(pk__in=read).values_list("external_ref", flat=True))
    assert {"N-A", "N-B", "N-C", "S-D", "EDGE", "MISSED", "LATE-INTAKE"} <= refs
    assert not {"OLD-CLOSED", "OLD-OPEN", "QUIET"} & refs


def test_the_figures_are_those_of_reading_every_case(personas, month, monkeypatch):
    pruned = figures(compute(personas))
    everything = list(Case.objects.order_by("id").values_list("id", flat=True))
    monkeypatch.setattr(snapshot_service, "month_case_ids", lambda *args, **kwargs: everything)
    assert figures(compute(personas)) == pruned
    # The edge cases land figures: EDGE's intake and MISSED's follow-up fell due in March.
    south = {row for row in pruned if row[0] == personas.south.pk}
    assert any(row[1] == "timeliness" and row[2] == "intake" for row in south)
    assert any(row[1] == "timeliness" and row[2] == "follow_up" for row in south)


def test_an_event_in_the_month_is_a_reason_to_read_only_if_it_lands_a_figure(
    personas, month, monkeypatch
):
    def old_case(ref):
        found = Case.objects.create(
            external_ref=ref,
            site=personas.north,
            version=month["version"],
            referral_at=at(date(2026, 1, 10), 9),
            risk_tier="high",
        )
        complete(found, "intake", at(date(2026, 1, 11), 9))
        return found

    # Nothing in March lands a figure of this case: a contact, a tier change, a touchpoint
    # completed without a missed contact to anchor it, a closure.
    busy = old_case("BUSY")
    event(busy, "contact_made", march(3))
    event(busy, "risk_tier_changed", march(4), risk_tier="medium")
    complete(busy, "follow_up", march(5))
    event(busy, "case_closed", march(20))
    # An assessment recorded in March (completeness) and an outcome (rate, attribution) do.
    assessed = old_case("ASSESSED")
    complete(assessed, "assessment", march(6), home_risk="low")
    outcome = old_case("OUTCOME")
    event(outcome, "outcome_recorded", march(7), outcome="readmission")

    start, end = month_window(organization=personas.org, month=MONTH)
    read = snapshot_service.month_case_ids(
        engine_definitions(), start=start, end=end, cutoff=end, now=APRIL_5
    )
    refs = set(Case.objects.filter(pk__in=read).values_list("external_ref", flat=True))
    assert {"ASSESSED", "OUTCOME"} <= refs
    assert "BUSY" not in refs
    pruned = figures(compute(personas))
    everything = list(Case.objects.order_by("id").values_list("id", flat=True))
    monkeypatch.setattr(snapshot_service, "month_case_ids", lambda *args, **kwargs: everything)
    assert figures(compute(personas)) == pruned


def test_the_case_count_still_counts_open_cases_with_nothing_in_the_month(personas, month):
    snapshots = {snapshot.site_id: snapshot for snapshot in compute(personas)}
    # North: N-A, N-B, N-C, OLD-OPEN, QUIET and LATE-INTAKE; OLD-CLOSED was closed before March
    # with nothing in it.
    assert snapshots[personas.north.pk].case_count == 6
    assert snapshots[personas.south.pk].case_count == 3  # S-D, EDGE, MISSED


def test_each_chunk_costs_two_queries(personas, month):
    def queries(**kwargs):
        with CaptureQueriesContext(connection) as captured:
            compute(personas, **kwargs)
        return len(captured)

    queries()  # the first run creates the metric definitions and settings
    read = len(
        snapshot_service.month_case_ids(
            engine_definitions(),
            start=month_window(organization=personas.org, month=MONTH)[0],
            end=month_window(organization=personas.org, month=MONTH)[1],
            cutoff=month_window(organization=personas.org, month=MONTH)[1],
            now=APRIL_5,
        )
    )
    one_chunk = queries()
    # One query for a chunk's cases, one for their events.
    assert queries(chunk_size=1) == one_chunk + 2 * (read - 1)


def test_more_cases_in_the_month_add_no_queries_within_a_chunk(personas, month):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            compute(personas)
        return len(captured)

    queries()
    few = queries()
    for number in range(20):
        extra = case(month["version"], personas.north, f"N-Y{number}", 10 + number % 10, "low")
        complete(extra, "intake", march(12 + number % 10))
    assert queries() == few


def test_contacts_made_are_not_read_and_change_no_figure(personas, month, monkeypatch):
    # On a case read for its other events: a contact in the month is no reason to read a case.
    event(month["N-A"], "contact_made", march(10))
    read_types = set()
    compute_obligations = snapshot_service.engine.compute_obligations

    def recording(cases, events, *args):
        read_types.update(events["type"])
        return compute_obligations(cases, events, *args)

    monkeypatch.setattr(snapshot_service.engine, "compute_obligations", recording)
    without_contacts = figures(compute(personas))
    assert "step_completed" in read_types
    assert "contact_made" not in read_types
    monkeypatch.setattr(snapshot_service, "MONTH_EVENTS", Q())
    assert figures(compute(personas)) == without_contacts
    assert "contact_made" in read_types


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
def test_the_months_reads_run_without_jit(personas, month, monkeypatch):
    during_reads = []
    case_chunks = snapshot_service.case_chunks

    def recording(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            during_reads.append(cursor.fetchone()[0])
        yield from case_chunks(*args, **kwargs)

    monkeypatch.setattr(snapshot_service, "case_chunks", recording)
    compute(personas)
    assert during_reads == ["off"]


def test_on_sqlite_a_cases_events_are_found_by_its_case_not_the_organisations(personas, month):
    """The month's case ids ask, per case, whether it has an event within reach. SQLite plans
    without statistics: an index that leads with the organisation and the event's time would look
    as good to it as (case, occurred_at), and the demo's snapshots then scanned the organisation's
    events once per case (the seed went from 33 s to 354 s). PostgreSQL plans by statistics."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's statistics-free planner is what this guards; PostgreSQL has ANALYZE")
    start, end = month_window(organization=personas.org, month=MONTH)
    with CaptureQueriesContext(connection) as captured:
        snapshot_service.month_case_ids(
            engine_definitions(), start=start, end=end, cutoff=end, now=APRIL_5
        )
    [query] = [q["sql"] for q in captured if "pathways_caseevent" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + query)
        plan = [row[-1] for row in cursor.fetchall()]
    # The correlated subquery's search of the events goes by the case.
    assert any("(case_id=?" in step for step in plan), plan
    assert not any("case_event_occurred" in step for step in plan), plan
