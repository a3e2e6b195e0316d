"""Each workforce integrity check at its boundary: exactly at the standard passes, one over fails."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tests.workforce.conftest import DAY, person
from workforce.models import (
    CheckKind,
    OnboardingTask,
    WorkforceCheckFigure,
    WorkforceException,
)
from workforce.services import (
    onboarding_plan_generate,
    staff_update,
    supervision_session_record,
    training_completion_record,
    workforce_checks_compute,
)
from workforce.services.checks import check_results
from workforce.tasks import compute_due_workforce_checks


def result(kind, subject_key):
    matches = [r for r in check_results(day=DAY) if r.kind == kind and r.subject_key == subject_key]
    assert len(matches) == 1, matches
    return matches[0]


@pytest.mark.parametrize("days_since, overdue", [(14, False), (15, True)])
def test_supervision_overdue_after_the_interval(personas, wf, days_since, overdue):
    pat = person(personas, wf["team"], "Pat")
    supervision_session_record(
        supervisor=wf["supervisor"], staff=pat, held_on=DAY - timedelta(days=days_since),
        by=personas.supervisor,
    )  # fmt: skip
    outcome = result(CheckKind.SUPERVISION_OVERDUE, f"staff:{pat.pk}")
    assert outcome.failing is overdue
    assert outcome.measured == days_since and outcome.threshold == 14


def test_supervision_counts_from_the_start_date_before_any_session(personas, wf):
    new = person(personas, wf["team"], "New", start=DAY - timedelta(days=14), today=DAY)
    newer = person(personas, wf["team"], "Newer", start=DAY - timedelta(days=15), today=DAY)
    assert result(CheckKind.SUPERVISION_OVERDUE, f"staff:{new.pk}").failing is False
    assert result(CheckKind.SUPERVISION_OVERDUE, f"staff:{newer.pk}").failing is True


def test_a_session_after_the_day_does_not_count(personas, wf):
    pat = person(personas, wf["team"], "Pat")
    supervision_session_record(
        supervisor=wf["supervisor"], staff=pat, held_on=DAY + timedelta(days=1),
        by=personas.supervisor,
    )  # fmt: skip
    assert result(CheckKind.SUPERVISION_OVERDUE, f"staff:{pat.pk}").failing is True


def test_skill_mix_exactly_at_the_minimum_passes_and_one_more_new_starter_fails(personas, wf):
    team = wf["team"]
    for name, band in [("A", "experienced"), ("B", "experienced"), ("C", "new"), ("D", "new")]:
        person(personas, team, name, band=band)
    at_ratio = result(CheckKind.SKILL_MIX, f"team:{team.pk}")
    assert (at_ratio.measured, at_ratio.failing) == (0.5, False)
    person(personas, team, "E", band="developing")
    below = result(CheckKind.SKILL_MIX, f"team:{team.pk}")
    assert (below.measured, below.failing) == (0.4, True)
    assert "2 of 5 experienced" in below.detail


def test_supervisor_span_exactly_at_the_maximum_passes_and_one_over_fails(personas, wf):
    for name in "ABC":
        person(personas, wf["team"], name)
    key = f"staff:{wf['supervisor'].pk}"
    assert (result(CheckKind.SPAN, key).measured, result(CheckKind.SPAN, key).failing) == (3, False)
    person(personas, wf["team"], "D")
    assert (result(CheckKind.SPAN, key).measured, result(CheckKind.SPAN, key).failing) == (4, True)


def test_staff_who_left_do_not_count_towards_span(personas, wf):
    for name in "ABC":
        person(personas, wf["team"], name)
    gone = person(personas, wf["team"], "Gone")
    staff_update(staff=gone, left_on=DAY)
    assert result(CheckKind.SPAN, f"staff:{wf['supervisor'].pk}").failing is False


@pytest.mark.parametrize("expires_offset, failing", [(0, False), (-1, True)])
def test_core_training_valid_up_to_its_expiry_day(personas, wf, expires_offset, failing):
    pat = person(personas, wf["team"], "Pat")
    fidelity, safeguarding = wf["modules"]
    training_completion_record(staff=pat, module=fidelity, completed_on=LONG(), by=personas.lead)
    # Safeguarding expires 12 months after completion: complete it so expiry lands on DAY + offset.
    completed = DAY + timedelta(days=expires_offset)
    completed = completed.replace(year=completed.year - 1)
    training_completion_record(
        staff=pat, module=safeguarding, completed_on=completed, by=personas.lead
    )
    outcome = result(CheckKind.TRAINING, f"staff:{pat.pk}")
    assert outcome.failing is failing
    if failing:
        assert outcome.detail == "Missing or expired: Safeguarding"


def LONG():
    return DAY - timedelta(days=300)


def test_core_training_is_not_checked_inside_the_onboarding_window(personas, wf):
    inside = person(personas, wf["team"], "Inside", start=DAY - timedelta(days=30), today=DAY)
    past = person(personas, wf["team"], "Past", start=DAY - timedelta(days=31), today=DAY)
    keys = {r.subject_key for r in check_results(day=DAY) if r.kind == CheckKind.TRAINING}
    assert f"staff:{inside.pk}" not in keys
    assert result(CheckKind.TRAINING, f"staff:{past.pk}").failing is True


@pytest.mark.parametrize("due_offset, behind", [(0, False), (-1, True)])
def test_onboarding_behind_once_a_task_is_past_its_due_day(personas, wf, due_offset, behind):
    starter = person(personas, wf["team"], "Starter", start=DAY - timedelta(days=20), today=DAY)
    plan = onboarding_plan_generate(staff=starter)
    plan.tasks.update(done_on=DAY - timedelta(days=20))
    task = plan.tasks.order_by("position").first()
    OnboardingTask.objects.filter(pk=task.pk).update(
        done_on=None, due_on=DAY + timedelta(days=due_offset)
    )
    outcome = result(CheckKind.ONBOARDING, f"staff:{starter.pk}")
    assert (outcome.failing, outcome.measured) == (behind, 1 if behind else 0)


def test_a_new_starter_gets_a_30_day_plan_with_the_core_modules(personas, wf):
    starter = person(personas, wf["team"], "Starter", start=DAY, today=DAY)
    tasks = list(starter.onboarding.tasks.order_by("position"))
    assert tasks[-1].due_on == DAY + timedelta(days=29)
    assert {t.module.code for t in tasks if t.module} == {"fidelity", "safeguarding"}
    training_completion_record(
        staff=starter, module=wf["modules"][0], completed_on=DAY, by=personas.lead
    )
    done = [t.title for t in starter.onboarding.tasks.filter(done_on__isnull=False)]
    assert done == ["Complete training: Model fidelity"]


def test_failing_checks_become_exceptions_kept_across_reruns_and_closed_when_they_pass(
    personas, wf
):
    pat = person(personas, wf["team"], "Pat")
    workforce_checks_compute(organization=personas.org, date=DAY)
    workforce_checks_compute(organization=personas.org, date=DAY)
    row = WorkforceException.objects.get(kind=CheckKind.SUPERVISION_OVERDUE)
    assert (row.subject, row.status, row.first_seen_on) == ("Pat", "open", DAY)
    figure = WorkforceCheckFigure.objects.get(run__date=DAY, kind=CheckKind.SUPERVISION_OVERDUE)
    assert (figure.checked, figure.failing) == (1, 1)
    supervision_session_record(
        supervisor=wf["supervisor"], staff=pat, held_on=DAY, by=personas.supervisor
    )
    workforce_checks_compute(organization=personas.org, date=DAY + timedelta(days=1))
    row.refresh_from_db()
    assert (row.status, row.closed_automatically) == ("resolved", True)
    assert row.history.count() >= 2


def test_the_command_reports_progress_and_counts(personas, wf):
    person(personas, wf["team"], "Pat")
    out = StringIO()
    call_command(
        "compute_workforce_checks", "--org", personas.org.slug, "--date", DAY.isoformat(),
        "--no-progress", stdout=out,
    )  # fmt: skip
    assert f"{personas.org.slug} {DAY}: " in out.getvalue()
    assert "open now: Supervision overdue 1" in out.getvalue()


def test_the_beat_task_queues_yesterday_once(personas, wf):
    queued = compute_due_workforce_checks()
    assert any(entry.startswith(f"{personas.org.slug} ") for entry in queued)
    assert not any(e.startswith(f"{personas.org.slug} ") for e in compute_due_workforce_checks())


def test_a_new_starters_first_session_ticks_that_onboarding_task(personas, wf):
    starter = person(personas, wf["team"], "Starter", start=DAY - timedelta(days=3), today=DAY)
    supervision_session_record(
        supervisor=wf["supervisor"], staff=starter, held_on=DAY, by=personas.supervisor
    )
    task = starter.onboarding.tasks.get(title__startswith="First supervision")
    assert task.done_on == DAY
