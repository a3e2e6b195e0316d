"""The monthly snapshot on the hand-built March 2026 (tests/assurance/helpers.py), measure by
measure against figures worked out by hand, with subgroup splits, the risk-adjusted comparator,
audit scores and incidents by step; and the snapshot as immutable, revisioned evidence."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assurance.models import AssuranceSnapshot, AuditRecord, SnapshotValue
from assurance.services import (
    assurance_snapshot_compute,
    audit_record_save,
    audit_sample_draw,
    baseline_save,
    incident_create,
)
from tests.assurance.helpers import APRIL_5, MONTH, build_month, case, march
from tests.pathways.exception_helpers import complete


@pytest.fixture
def month(personas, tenant):
    return build_month(personas)


def compute(personas, **kwargs):
    return assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5, **kwargs)


def figure(site, measure, step="", dimension="all", segment="all"):
    row = SnapshotValue.objects.get(
        snapshot__site=site,
        snapshot__revision=AssuranceSnapshot.objects.filter(site=site, month=MONTH)
        .order_by("-revision")
        .values("revision")[:1],
        measure=measure,
        step=step,
        dimension=dimension,
        segment=segment,
    )
    return row.numerator, row.denominator, row.value


def test_timeliness_is_met_over_met_late_and_overdue_obligations_due_in_the_month(personas, month):
    compute(personas)
    # North: N-A intake met, assessment late; N-B intake late, assessment overdue; N-C intake
    # overdue, follow-ups met and late: 7 obligations, 2 met.
    assert figure(personas.north, "timeliness") == (2, 7, pytest.approx(100 * 2 / 7))
    assert figure(personas.north, "timeliness", "intake") == (1, 3, pytest.approx(100 / 3))
    assert figure(personas.north, "timeliness", "assessment") == (0, 2, 0.0)
    assert figure(personas.north, "timeliness", "follow_up") == (1, 2, 50.0)
    # South: S-D intake met, assessment overdue.
    assert figure(personas.south, "timeliness") == (1, 2, 50.0)


def test_timeliness_splits_by_subgroup(personas, month):
    compute(personas)
    # Language need: N-A (2 obligations, 1 met) + N-C (3, 1) = 2/5; N-B 0/2.
    assert figure(personas.north, "timeliness", dimension="language_need", segment="yes")[:2] == (
        2,
        5,
    )
    assert figure(personas.north, "timeliness", dimension="language_need", segment="no")[:2] == (
        0,
        2,
    )
    # Risk tier at referral: medium N-A 1/2, low N-B 0/2, high N-C 1/3.
    assert figure(personas.north, "timeliness", dimension="risk_tier", segment="medium")[:2] == (
        1,
        2,
    )
    assert figure(personas.north, "timeliness", dimension="risk_tier", segment="low")[:2] == (0, 2)
    assert figure(personas.north, "timeliness", dimension="risk_tier", segment="high")[:2] == (1, 3)
    # Rurality: rural N-A 1/2; urban N-B + N-C 1/5. Housing: stable N-A + N-C 2/5.
    assert figure(personas.north, "timeliness", dimension="rurality", segment="rural")[:2] == (1, 2)
    assert figure(personas.north, "timeliness", dimension="rurality", segment="urban")[:2] == (1, 5)
    assert figure(personas.north, "timeliness", dimension="housing", segment="stable")[:2] == (2, 5)
    # Disability: yes N-C 1/3; no N-A + N-B 1/4. Unrecorded attributes are "unknown".
    assert figure(personas.north, "timeliness", dimension="disability", segment="yes")[:2] == (1, 3)
    assert figure(personas.south, "timeliness", dimension="housing", segment="unknown")[:2] == (
        1,
        2,
    )


def test_touchpoint_completion_counts_late_completions_as_completed(personas, month):
    compute(personas)
    # N-C's two follow-ups: one met, one late -> both completed by the month's end.
    assert figure(personas.north, "touchpoint_completion") == (2, 2, 100.0)
    assert figure(personas.north, "touchpoint_completion", "follow_up")[:2] == (2, 2)


def test_escalation_adherence_is_met_over_due(personas, month):
    compute(personas)
    # N-C: two missed contacts in a week -> one escalation obligation, met 22h later.
    assert figure(personas.north, "escalation_adherence") == (1, 1, 100.0)
    assert figure(personas.north, "escalation_adherence", "repeated-missed-contacts")[:2] == (1, 1)


def test_assessment_completeness_is_complete_over_all_assessments_recorded(personas, month):
    compute(personas)
    # N-A's assessment has home_risk; N-B's is marked incomplete: 1 of 2.
    assert figure(personas.north, "assessment_completeness") == (1, 2, 50.0)
    assert figure(
        personas.north, "assessment_completeness", dimension="language_need", segment="no"
    )[:2] == (0, 1)


def test_an_assessment_missing_a_required_field_is_incomplete(personas, month):
    complete(month["N-C"], "assessment", march(20), complete=True)  # no home_risk
    compute(personas)
    assert figure(personas.north, "assessment_completeness")[:2] == (1, 3)


def test_adverse_outcome_rate_over_cases_with_an_outcome(personas, month):
    compute(personas)
    # N-A stable_at_home, N-C ed_attendance (adverse): 1 of 2. By tier: medium 0/1, high 1/1.
    assert figure(personas.north, "adverse_outcome_rate") == (1, 2, 50.0)
    assert figure(personas.north, "adverse_outcome_rate", dimension="risk_tier", segment="medium")[
        :2
    ] == (0, 1)
    assert figure(personas.north, "adverse_outcome_rate", dimension="risk_tier", segment="high")[
        :2
    ] == (1, 1)
    assert figure(personas.south, "adverse_outcome_rate") == (1, 1, 100.0)


def test_adverse_outcome_codes_come_from_the_settings(personas, month):
    from assurance.services import assurance_settings_update

    assurance_settings_update(adverse_outcomes="readmission")
    compute(personas)
    assert figure(personas.north, "adverse_outcome_rate")[:2] == (0, 2)
    assert figure(personas.south, "adverse_outcome_rate")[:2] == (1, 1)


def test_risk_adjusted_outcome_rate_by_direct_standardisation(personas, month):
    baseline_save(
        name="Region 2025",
        kind="geographic",
        rates={"low": (10, 500), "medium": (20, 300), "high": (40, 200)},
    )
    compute(personas)
    row = SnapshotValue.objects.get(
        snapshot__site=personas.north,
        measure="adverse_outcome_rate_adjusted",
        dimension="baseline",
        segment="Region 2025",
    )
    # North has no low-tier outcome: weights medium 0.6, high 0.4. Adjusted = 0*.6 + 100*.4 =
    # 40%; the baseline on the same weights = 20*.6 + 40*.4 = 28%; ratio 40/28.
    assert row.value == pytest.approx(40.0)
    assert row.detail["baseline_rate"] == pytest.approx(28.0)
    assert row.detail["ratio"] == pytest.approx(40 / 28)
    assert row.detail["missing_tiers"] == ["low"]
    # South: medium only, 100%; baseline medium 20%.
    south = SnapshotValue.objects.get(
        snapshot__site=personas.south, measure="adverse_outcome_rate_adjusted"
    )
    assert south.value == pytest.approx(100.0)
    assert south.detail["baseline_rate"] == pytest.approx(20.0)


def test_a_site_baseline_applies_only_to_its_site(personas, month):
    baseline_save(
        name="North history",
        kind="historical",
        site=personas.north,
        rates={"low": (10, 1), "medium": (10, 1), "high": (10, 1)},
    )
    compute(personas)
    segments = set(
        SnapshotValue.objects.filter(measure="adverse_outcome_rate_adjusted").values_list(
            "snapshot__site__code", "segment"
        )
    )
    assert segments == {("north", "North history")}


def test_attribution_names_the_upstream_steps_missed_or_late_before_an_adverse_outcome(
    personas, month
):
    compute(personas)

    # N-C (adverse, 25 March): intake overdue and the second follow-up late, both due before
    # the outcome; escalation met. N-A (other outcome): assessment late.
    def share(step, group):
        return figure(personas.north, "outcome_attribution", step, "outcome", group)[:2]

    assert share("intake", "adverse") == (1, 1)
    assert share("follow_up", "adverse") == (1, 1)
    assert share("assessment", "adverse") == (0, 1)
    assert share("repeated-missed-contacts", "adverse") == (0, 1)
    assert share("assessment", "other") == (1, 1)
    assert share("intake", "other") == (0, 1)
    assert share("", "adverse") == (1, 1)


def test_audit_score_is_yes_answers_over_answered_questions(personas, month):
    sample = audit_sample_draw(site=personas.north, month=MONTH, seed=7, size=2, now=APRIL_5)
    first, second = sample.records.order_by("position")
    audit_record_save(
        record=first,
        by=personas.supervisor,
        documentation_complete="yes",
        steps_evidenced="yes",
        escalation_appropriate="na",
    )
    audit_record_save(
        record=second,
        by=personas.supervisor,
        documentation_complete="yes",
        steps_evidenced="no",
        escalation_appropriate="no",
    )
    compute(personas)
    # 2 of 2 + 1 of 3 = 3 yes of 5 answered.
    assert figure(personas.north, "audit_score") == (3, 5, 60.0)


def test_incidents_are_counted_by_failed_step_and_severity(personas, month):
    incident_create(
        site=personas.north,
        kind="incident",
        severity="moderate",
        occurred_at=march(15),
        summary="Follow-up missed",
        failed_steps=["follow_up", "intake"],
    )
    incident_create(
        site=personas.north,
        kind="near_miss",
        severity="no_harm",
        occurred_at=march(16),
        summary="Referral nearly lost",
        failed_steps=["intake"],
    )
    incident_create(
        site=personas.north,
        kind="incident",
        severity="low",
        occurred_at=datetime(2026, 2, 20, tzinfo=UTC),
        summary="February: not this month",
        failed_steps=["intake"],
    )
    compute(personas)
    assert figure(personas.north, "incidents")[0] == 1
    assert figure(personas.north, "incidents", "follow_up")[0] == 1
    assert figure(personas.north, "incidents", "intake")[0] == 1
    assert figure(personas.north, "incidents", dimension="severity", segment="moderate")[0] == 1
    assert figure(personas.north, "near_misses", "intake")[0] == 1


def test_a_recompute_makes_a_new_revision_and_keeps_the_old(personas, month):
    first = {s.site.code: s for s in compute(personas)}
    case(month["version"], personas.north, "N-E", 20, "low")  # a late referral: intake overdue
    second = {s.site.code: s for s in compute(personas, reason="late data")}
    assert (first["north"].revision, second["north"].revision) == (1, 2)
    old = SnapshotValue.objects.get(
        snapshot=first["north"], measure="timeliness", step="", dimension="all"
    )
    new = SnapshotValue.objects.get(
        snapshot=second["north"], measure="timeliness", step="", dimension="all"
    )
    assert (old.numerator, old.denominator) == (2, 7)
    assert (new.numerator, new.denominator) == (2, 8)
    assert AssuranceSnapshot.objects.filter(site=personas.north, month=MONTH).count() == 2


def test_snapshot_rows_refuse_to_be_changed(personas, month):
    snapshot = compute(personas)[0]
    snapshot.reason = "edited"
    with pytest.raises(ValidationError):
        snapshot.save()
    value = snapshot.values.first()
    value.value = 99
    with pytest.raises(ValidationError):
        value.save()


def test_a_month_still_running_is_computed_to_date_and_marked_partial(personas, month):
    snapshots = assurance_snapshot_compute(
        organization=personas.org, month=MONTH, now=datetime(2026, 3, 12, 12, tzinfo=UTC)
    )
    north = next(s for s in snapshots if s.site == personas.north)
    assert north.partial is True
    # By 12 March noon: N-A intake (met, due 4th), assessment (late, due 6th);
    # N-B intake (late, due 7th), assessment (due 11th, overdue); N-C intake due 12th 09:00
    # (overdue) and its first follow-up due 12th 10:00 (met). 6 due, 2 met.
    assert figure(personas.north, "timeliness")[:2] == (2, 6)


def test_a_month_not_started_is_refused(personas, tenant):
    with pytest.raises(ValidationError):
        assurance_snapshot_compute(
            organization=personas.org, month=MONTH, now=datetime(2026, 2, 27, tzinfo=UTC)
        )


def test_computation_is_set_based_queries_do_not_grow_with_cases(personas, month):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            compute(personas)
        return len(captured)

    queries()  # the first run creates the metric definitions and settings
    few = queries()
    for number in range(30):
        extra = case(month["version"], personas.north, f"N-X{number}", 10 + number % 10, "low")
        complete(extra, "intake", march(12 + number % 10))
    assert queries() == few


def test_audit_records_not_yet_audited_do_not_count(personas, month):
    audit_sample_draw(site=personas.north, month=MONTH, seed=1, size=2, now=APRIL_5)
    compute(personas)
    assert not SnapshotValue.objects.filter(measure="audit_score").exists()
    assert AuditRecord.objects.filter(audited_at__isnull=True).count() == 2


def test_chunked_computation_gives_the_same_figures_as_one_chunk(personas, month):
    def rows(snapshots):
        return set(
            SnapshotValue.objects.filter(snapshot__in=snapshots).values_list(
                "snapshot__site_id", "measure", "step", "dimension", "segment", "numerator",
                "denominator",
            )
        )  # fmt: skip

    whole = rows(compute(personas))
    chunked = rows(compute(personas, chunk_size=1))
    assert chunked == whole
