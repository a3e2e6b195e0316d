"""A drift signal opens its standard response as real records (a coaching session due, extra
supervision for the site's teams, a re-audit sample when the window opens); its page shows
each part done / due / late; recovery is judged only once the response ran."""

from datetime import date, timedelta

from assurance.models import AuditSample, DriftSignal
from assurance.services.drift_response import (
    drift_response_late,
    drift_response_parts,
    reaudit_samples_draw_due,
)
from tests.assurance.drift_response_helpers import run_response
from tests.assurance.test_drift import JUNE, drifted_in_june, east, snapshot, update  # noqa: F401
from workforce.coaching.models import CoachingSession, SupervisionOverride

JULY = date(2026, 7, 1)


def test_a_raised_signal_opens_coaching_and_extra_supervision(personas, east):  # noqa: F811
    signal = drifted_in_june(personas, east)
    session = CoachingSession.objects.get(site=personas.south)
    assert session.source_key == f"drift_signal:{signal.pk}"
    assert session.due_on == JULY + timedelta(days=7) and session.held_on is None
    override = SupervisionOverride.objects.get(site=personas.south)
    assert (override.starts_on, override.ends_on) == (JULY, signal.reaudit_until)
    assert override.interval_days == 7
    # A recompute of the month opens nothing twice.
    update(JUNE, [snapshot(personas.north, JUNE, (90, 100), revision=2),
                  snapshot(east, JUNE, (84, 100), revision=2),
                  snapshot(personas.south, JUNE, (70, 100), revision=2)])  # fmt: skip
    assert CoachingSession.objects.count() == SupervisionOverride.objects.count() == 1


def test_recovery_waits_for_the_response(personas, east):  # noqa: F811
    signal = drifted_in_june(personas, east)
    update(JULY, [snapshot(personas.south, JULY, (76, 100))])
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.AWAITING  # back within the margin, but...
    assert "waits until the response has run" in signal.history.first().history_change_reason
    run_response(signal, by=personas.lead)
    update(JULY, [snapshot(personas.south, JULY, (76, 100), revision=2)])
    assert DriftSignal.objects.get().recovery == DriftSignal.Recovery.CONFIRMED


def test_each_part_is_done_due_or_late_and_responded_late_shows(personas, east):  # noqa: F811
    signal = drifted_in_june(personas, east)
    parts = drift_response_parts(signal=signal)
    labels = [p.label for p in parts]
    assert labels[0] == "Targeted coaching session" and labels[-1] == "Re-audit sample"
    late_day = JULY + timedelta(days=20)
    assert parts[0].state(JULY) == "due" and parts[0].state(late_day) == "late"
    run_response(signal, by=personas.lead, late=True)
    parts = drift_response_parts(signal=signal)
    assert parts[0].state(late_day) == "done late"
    assert drift_response_late(parts, late_day)
    client = personas.client(personas.lead)
    page = client.get(f"/o/acme/assurance/drift/{signal.pk}/").content.decode()
    assert "responded late" in page and "done late" in page


def test_the_reaudit_sample_is_drawn_when_the_window_opens(personas, east):  # noqa: F811
    signal = drifted_in_june(personas, east)
    assert reaudit_samples_draw_due(organization=personas.org, today=JULY - timedelta(days=1)) == []
    # No cases with activity at South in July: nothing to draw yet, and no error.
    assert reaudit_samples_draw_due(organization=personas.org, today=JULY) == []
    assert not AuditSample.objects.filter(kind=AuditSample.Kind.REAUDIT).exists()
    assert signal.reaudit_from == JULY


def test_the_verdict_is_judged_when_the_last_part_completes(personas, east):  # noqa: F811
    from workforce.coaching.services import coaching_session_record
    from workforce.models import StaffRole
    from workforce.services import staff_create

    signal = drifted_in_june(personas, east)
    update(JULY, [snapshot(personas.south, JULY, (76, 100))])  # back within the margin
    # The re-audit sample is drawn; the coaching session is still open: the verdict waits.
    AuditSample.objects.create(
        site=personas.south, month=JULY, kind=AuditSample.Kind.REAUDIT, seed=1, size=0,
        population=0,
    )  # fmt: skip
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.AWAITING
    assert [p.label for p in drift_response_parts(signal=signal) if p.done_on is None] == [
        "Targeted coaching session"
    ]
    # Holding it (three days late) completes the response: judged at once, no recompute.
    session = CoachingSession.objects.get(source_key=f"drift_signal:{signal.pk}")
    coachee = staff_create(
        site=personas.south, name="Casey Coachee", role=StaffRole.SUPERVISOR,
        experience_band="experienced", start_date=JUNE,
    )  # fmt: skip
    coaching_session_record(
        site=personas.south, held_on=session.due_on + timedelta(days=3), lead=personas.lead,
        attendees=[coachee], by=personas.lead, organization=personas.org, session=session,
    )  # fmt: skip
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.CONFIRMED
    assert signal.reaudit_snapshot.month == JULY  # the stored figure, not a new computation
    assert signal.history.first().history_change_reason == (
        "Judged when the last part of the response completed"
    )
    page = personas.client(personas.lead).get(f"/o/acme/assurance/drift/{signal.pk}/")
    text = page.content.decode()
    assert "responded late" in text and "Recovery confirmed" in text


def test_a_completed_part_before_the_reaudit_figure_judges_nothing(personas, east):  # noqa: F811
    signal = drifted_in_june(personas, east)
    run_response(signal, by=personas.lead)  # every part done, no re-audit month computed yet
    signal = DriftSignal.objects.get()
    assert signal.reaudit_snapshot is None and signal.recovery == DriftSignal.Recovery.AWAITING


def test_the_supervision_that_completes_the_response_judges_the_verdict(
    personas,
    east,  # noqa: F811
):
    from workforce.models import StaffRole
    from workforce.services import staff_create
    from workforce.services.supervision import supervision_session_record

    signal = drifted_in_june(personas, east)
    pat = staff_create(
        site=personas.south, name="Pat Practitioner", role=StaffRole.PRACTITIONER,
        experience_band="experienced", start_date=JUNE,
    )  # fmt: skip
    update(JULY, [snapshot(personas.south, JULY, (76, 100))])
    run_response(signal, by=personas.lead)  # coaching held, sample drawn; Pat not supervised
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.AWAITING
    [open_part] = [p for p in drift_response_parts(signal=signal) if p.done_on is None]
    assert open_part.label.startswith("Extra supervision")
    supervisor = staff_create(
        site=personas.south, name="Sue Supervisor", role=StaffRole.SUPERVISOR,
        experience_band="experienced", start_date=JUNE,
    )  # fmt: skip
    supervision_session_record(
        supervisor=supervisor, staff=pat, held_on=JULY + timedelta(days=3), by=personas.lead
    )
    assert DriftSignal.objects.get().recovery == DriftSignal.Recovery.CONFIRMED
