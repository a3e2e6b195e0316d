"""Running a drift signal's standard response in a test: the coaching session held, the
re-audit sample drawn."""

from datetime import timedelta

from assurance.models import AuditSample
from workforce.coaching.models import CoachingSession
from workforce.coaching.services import coaching_session_record
from workforce.models import StaffRole
from workforce.services import staff_create


def run_response(signal, *, by, late: bool = False) -> None:
    session = CoachingSession.objects.get(site=signal.site, source_key=f"drift_signal:{signal.pk}")
    coach = staff_create(
        site=signal.site, name="Casey Coachee", role=StaffRole.SUPERVISOR,
        experience_band="experienced", start_date=signal.month,
    )  # fmt: skip
    held_on = session.due_on + timedelta(days=3 if late else -1)
    coaching_session_record(
        site=signal.site, held_on=held_on, lead=by, attendees=[coach], by=by,
        organization=signal.site.organization, session=session,
    )  # fmt: skip
    AuditSample.objects.create(
        site=signal.site, month=signal.reaudit_from.replace(day=1),
        kind=AuditSample.Kind.REAUDIT, seed=1, size=0, population=0,
    )  # fmt: skip
