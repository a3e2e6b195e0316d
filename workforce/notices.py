"""Workforce's notice sources: training expiring within 30 days, onboarding tasks due, the
workforce-exceptions section of the daily digest (and coaching due, in workforce.coaching)."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q

from scaling_ops.links import org_path
from scaling_ops.models import Organization, Role, Site
from scaling_ops.notifications import NoticeDraft, NoticeKind, NoticeSource
from workforce.models import CheckKind, OnboardingTask, TrainingCompletion, WorkforceException

TRAINING_NOTICE_DAYS = 30
ONBOARDING_NOTICE_DAYS = 3
STAFF_ROLES = (Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR)


def _in_post(prefix: str, day: date) -> Q:
    return Q(**{f"{prefix}start_date__lte": day}) & (
        Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": day})
    )


def training_expiring_drafts(*, organization: Organization, today: date) -> list[NoticeDraft]:
    """Completions expiring within 30 days that no later completion of the module renews."""
    renewed = TrainingCompletion.objects.filter(
        staff_id=OuterRef("staff_id"),
        module_id=OuterRef("module_id"),
        completed_on__gt=OuterRef("completed_on"),
    )
    completions = (
        TrainingCompletion.objects.filter(
            expires_on__gte=today, expires_on__lte=today + timedelta(days=TRAINING_NOTICE_DAYS)
        )
        .filter(_in_post("staff__", today))
        .exclude(Exists(renewed))
        .select_related("staff", "module")
    )
    drafts = []
    for completion in completions:
        staff, days = completion.staff, (completion.expires_on - today).days
        drafts.append(
            NoticeDraft(
                kind="training_expiring",
                key=f"training_expiring:{completion.pk}:{completion.expires_on.isoformat()}",
                title=f"{completion.module.name} for {staff.name} expires in {days} days",
                lines=[
                    f"{staff.name}'s {completion.module.name} (completed "
                    f"{completion.completed_on:%-d %B %Y}) expires on "
                    f"{completion.expires_on:%-d %B %Y}.",
                    "Book the refresher so the core training check stays green.",
                ],
                url=org_path(organization, "workforce_staff", pk=staff.pk),
                template="workforce/notices/training_expiring",
                site_id=staff.site_id,
                roles=STAFF_ROLES,
                user_ids=[staff.user_id] if staff.user_id else [],
                case_details=True,  # staff names: never for commissioners
            )
        )
    return drafts


def onboarding_due_drafts(*, organization: Organization, today: date) -> list[NoticeDraft]:
    tasks = (
        OnboardingTask.objects.filter(
            done_on__isnull=True,
            due_on__gte=today,
            due_on__lte=today + timedelta(days=ONBOARDING_NOTICE_DAYS),
        )
        .filter(_in_post("plan__staff__", today))
        .select_related("plan__staff")
    )
    drafts = []
    for task in tasks:
        staff, days = task.plan.staff, (task.due_on - today).days
        when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        drafts.append(
            NoticeDraft(
                kind="onboarding_task_due",
                key=f"onboarding_task:{task.pk}:{task.due_on.isoformat()}",
                title=f"Onboarding for {staff.name}: “{task.title}” due {when}",
                lines=[f"{task.title}, due {task.due_on:%-d %B %Y}, for {staff.name}."],
                url=org_path(organization, "workforce_staff", pk=staff.pk),
                template="workforce/notices/onboarding_task_due",
                site_id=staff.site_id,
                roles=STAFF_ROLES,
                user_ids=[staff.user_id] if staff.user_id else [],
                case_details=True,
            )
        )
    return drafts


def workforce_exception_digest_drafts(
    *, organization: Organization, today: date
) -> list[NoticeDraft]:
    """Per site: the open workforce exceptions by check, new ones (first seen yesterday) named."""
    yesterday = today - timedelta(days=1)
    by_site = defaultdict(list)
    for row in WorkforceException.objects.filter(status=WorkforceException.Status.OPEN).order_by(
        "site_id", "kind", "subject"
    ):
        by_site[row.site_id].append(row)
    if not by_site:
        return []
    kinds = dict(CheckKind.choices)
    sites = {site.pk: site for site in Site.objects.filter(pk__in=list(by_site))}
    drafts = []
    for site_id, rows in by_site.items():
        site = sites[site_id]
        counts = defaultdict(int)
        for row in rows:
            counts[row.kind] += 1
        lines = [f"{len(rows)} open: " + ", ".join(f"{kinds[k]} {n}" for k, n in counts.items())]
        lines += [
            f"New: {kinds[row.kind]}, {row.subject} ({row.detail})"
            for row in rows
            if row.first_seen_on >= yesterday
        ]
        drafts.append(
            NoticeDraft(
                kind="workforce_exceptions_digest",
                key=f"workforce_exceptions_digest:{site_id}:{today.isoformat()}",
                title=f"Workforce exceptions at {site.name}",
                heading=f"Workforce exceptions at {site.name}",
                lines=lines,
                url=org_path(organization, "workforce_site", code=site.code),
                template="scaling_ops/notices/daily_digest",
                site_id=site_id,
                roles=STAFF_ROLES,
                case_details=True,
            )
        )
    return drafts


def workforce_drafts(*, organization: Organization, today: date, now: datetime):
    from workforce.coaching.notices import coaching_due_drafts

    return [
        *workforce_exception_digest_drafts(organization=organization, today=today),
        *training_expiring_drafts(organization=organization, today=today),
        *onboarding_due_drafts(organization=organization, today=today),
        *coaching_due_drafts(organization=organization, today=today),
    ]


source = NoticeSource(
    name="workforce",
    kinds=(
        NoticeKind(
            "workforce_exceptions_digest",
            "Open workforce exceptions",
            roles=STAFF_ROLES,
            digest=True,
        ),
        NoticeKind("training_expiring", "Training expiring within 30 days", roles=STAFF_ROLES),
        NoticeKind("onboarding_task_due", "Onboarding task due", roles=STAFF_ROLES),
        NoticeKind("coaching_due", "Coaching session due", roles=(Role.IMPLEMENTATION_LEAD,)),
    ),
    collect=workforce_drafts,
)
