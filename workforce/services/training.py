"""Training modules, completions with sign-off and expiry, and the "first 30 days" onboarding."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from scaling_ops.dates import add_months
from workforce.models import (
    OnboardingPlan,
    OnboardingTask,
    StaffMember,
    TrainingCompletion,
    TrainingModule,
)

FIRST_SUPERVISION = "First supervision session with the team supervisor"
# The standard onboarding pathway: (day, title). Core modules are added as tasks due on
# ``CORE_MODULES_BY_DAY``; the last task falls on the plan's final day.
ONBOARDING_STEPS = [
    (1, "Induction: the model of care, role description and the site's partners"),
    (3, "Shadow an experienced practitioner on three contacts"),
    (7, FIRST_SUPERVISION),
    (10, "Shadowing plan: joint visits on each step of the pathway"),
    (21, "Supervised caseload: first cases assigned, reviewed weekly"),
]
CORE_MODULES_BY_DAY = 14
REVIEW_TITLE = "End of onboarding review with the supervisor"


def training_module_create(
    *, code: str, name: str, kind: str, roles=(), validity_months: int | None = None
) -> TrainingModule:
    if TrainingModule.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A module with code {code!r} exists already."})
    module = TrainingModule(
        code=code, name=name, kind=kind, roles=list(roles), validity_months=validity_months
    )
    module.full_clean(exclude=["organization"])
    module.save()
    return module


def modules_for(staff: StaffMember, modules) -> list[TrainingModule]:
    return [
        m for m in modules
        if m.kind == TrainingModule.Kind.CORE or staff.role in (m.roles or [])
    ]  # fmt: skip


@transaction.atomic
def training_completion_record(
    *, staff: StaffMember, module: TrainingModule, completed_on: date, by, evidence: str = ""
) -> TrainingCompletion:
    """Records a signed-off completion; it expires ``validity_months`` later, if the module
    expires. Onboarding tasks for the module are ticked off."""
    today = timezone.localdate()
    if completed_on > today:
        raise ValidationError({"completed_on": "A completion cannot be in the future."})
    if completed_on < staff.start_date - timedelta(days=365):
        raise ValidationError({"completed_on": "That is long before the person started."})
    expires = add_months(completed_on, module.validity_months) if module.validity_months else None
    completion = TrainingCompletion(
        staff=staff, module=module, completed_on=completed_on, expires_on=expires,
        signed_off_by=by, signed_off_at=timezone.now(), evidence=evidence.strip(),
    )  # fmt: skip
    completion._history_user = by
    completion.save()
    for task in OnboardingTask.objects.filter(
        plan__staff=staff, module=module, done_on__isnull=True
    ):
        task.done_on = completed_on
        task.done_by = by
        task._history_user = by
        task.save(update_fields=["done_on", "done_by"])
    return completion


@transaction.atomic
def onboarding_plan_generate(*, staff: StaffMember, days: int | None = None) -> OnboardingPlan:
    """Creates the staff member's plan from the standard pathway (idempotent)."""
    from workforce.services.authority import standard_or_default

    existing = OnboardingPlan.objects.filter(staff=staff).first()
    if existing is not None:
        return existing
    team_pathway = staff.team.pathway_id if staff.team_id else None
    days = days or standard_or_default(pathway_id=team_pathway).onboarding_days
    plan = OnboardingPlan.objects.create(staff=staff, starts_on=staff.start_date)
    start = staff.start_date - timedelta(days=1)
    tasks = [(day, title, None) for day, title in ONBOARDING_STEPS if day < days]
    modules = modules_for(staff, TrainingModule.objects.all())
    tasks += [(min(CORE_MODULES_BY_DAY, days), f"Complete training: {m.name}", m) for m in modules]
    tasks.append((days, REVIEW_TITLE, None))
    tasks.sort(key=lambda task: task[0])
    OnboardingTask.objects.bulk_create(
        OnboardingTask(
            organization_id=staff.organization_id, plan=plan, position=index, title=title,
            due_on=start + timedelta(days=day), module=module,
        )
        for index, (day, title, module) in enumerate(tasks)
    )  # fmt: skip
    return plan


def onboarding_task_complete(
    *, task: OnboardingTask, by, done_on: date | None = None
) -> OnboardingTask:
    if task.done_on is not None:
        return task
    done_on = done_on or timezone.localdate()
    if done_on > timezone.localdate():
        raise ValidationError({"done_on": "A task cannot be done in the future."})
    task.done_on = done_on
    task.done_by = by
    task._history_user = by
    task.save(update_fields=["done_on", "done_by"])
    return task
