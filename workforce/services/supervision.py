"""Supervision sessions and the weekly case-review sample."""

import random
import secrets
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from pathways.models import Case, CaseEvent, EventType
from workforce.models import (
    CaseAssignment,
    OnboardingTask,
    ReviewSample,
    ReviewSampleCase,
    SessionCaseReview,
    StaffMember,
    StaffRole,
    SupervisionSession,
)
from workforce.services.training import FIRST_SUPERVISION

SEED_LIMIT = 2**31 - 1


def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@transaction.atomic
def supervision_session_record(
    *,
    supervisor: StaffMember,
    staff: StaffMember,
    held_on: date,
    by,
    notes: str = "",
    cases=(),
) -> SupervisionSession:
    if supervisor.role not in (StaffRole.SUPERVISOR, StaffRole.CLINICAL_LEAD):
        raise ValidationError({"supervisor": f"{supervisor.name} is not a supervisor."})
    if supervisor.pk == staff.pk:
        raise ValidationError({"staff": "A supervisor cannot record supervision of themselves."})
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": "Record a session once it has been held."})
    if held_on < staff.start_date:
        raise ValidationError({"held_on": f"{staff.name} started on {staff.start_date}."})
    cases = list(cases)
    wrong = [c.external_ref for c in cases if c.site_id != staff.site_id]
    if wrong:
        raise ValidationError({"cases": f"Not cases of {staff.site.name}: {', '.join(wrong)}."})
    session = SupervisionSession(
        supervisor=supervisor, staff=staff, held_on=held_on, notes=notes.strip(), recorded_by=by
    )
    session._history_user = by
    session.save()
    # A new starter's first session ticks that task of their onboarding plan.
    OnboardingTask.objects.filter(
        plan__staff=staff, title=FIRST_SUPERVISION, done_on__isnull=True
    ).update(done_on=held_on, done_by=by)
    SessionCaseReview.objects.bulk_create(
        SessionCaseReview(organization_id=session.organization_id, session=session, case=case)
        for case in cases
    )
    # Deferred: coaching's services import workforce.services.
    from workforce.coaching.services import drift_parts_touched

    drift_parts_touched(site_id=staff.site_id, held_on=held_on)
    return session


def review_population(*, supervisor: StaffMember) -> list[int]:
    """Ids, in id order, of the open cases currently assigned to practitioners in the teams the
    supervisor supervises: the frame the weekly sample is drawn from."""
    closed = CaseEvent.objects.filter(case_id=OuterRef("pk"), type=EventType.CASE_CLOSED)
    assigned = CaseAssignment.objects.filter(
        case_id=OuterRef("pk"),
        ended_at__isnull=True,
        practitioner__team__supervisor=supervisor,
    )
    return list(
        Case.objects.filter(Exists(assigned))
        .exclude(Exists(closed))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def review_sample_draw(
    *,
    supervisor: StaffMember,
    week_start: date,
    by=None,
    seed: int | None = None,
    size: int | None = None,
) -> ReviewSample:
    """Draws and records the week's sample: ``random.Random(seed).sample`` over the population
    in id order. A week has one sample: drawing again returns the recorded one."""
    from workforce.services.authority import standard_or_default

    week_start = week_start_of(week_start)
    existing = ReviewSample.objects.filter(supervisor=supervisor, week_start=week_start).first()
    if existing is not None:
        return existing
    if size is None:
        size = standard_or_default().review_sample_size
    if size < 1:
        raise ValidationError({"size": "Sample at least one case."})
    if seed is None:
        seed = secrets.randbelow(SEED_LIMIT)
    population = review_population(supervisor=supervisor)
    chosen = random.Random(seed).sample(population, min(size, len(population)))
    try:
        with transaction.atomic():
            sample = ReviewSample.objects.create(
                supervisor=supervisor, week_start=week_start, seed=seed, size=size,
                population=len(population), drawn_at=timezone.now(), drawn_by=by,
            )  # fmt: skip
            ReviewSampleCase.objects.bulk_create(
                ReviewSampleCase(
                    organization_id=sample.organization_id, sample=sample, case_id=case_id,
                    position=position,
                )
                for position, case_id in enumerate(chosen)
            )  # fmt: skip
    except IntegrityError:
        # Someone drew the same week at the same moment: theirs is the recorded sample.
        return ReviewSample.objects.get(supervisor=supervisor, week_start=week_start)
    return sample
