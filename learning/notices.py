"""Learning's notice source: improvement actions due within 3 days, and overdue."""

from datetime import date, datetime, timedelta

from learning.models import ImprovementAction
from scaling_ops.links import org_path
from scaling_ops.models import Organization, Role
from scaling_ops.notifications import NoticeDraft, NoticeKind, NoticeSource

# An action's owner may be a supervisor; without an owner, the site's supervisors are told.
ACTION_ROLES = (Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR)

DUE_SOON_DAYS = 3


def improvement_action_drafts(
    *, organization: Organization, today: date, now: datetime
) -> list[NoticeDraft]:
    """Open actions whose deadline is within ``DUE_SOON_DAYS`` (once per deadline) or past (once
    per deadline): to the owner, and to the leads who see the site. The key carries the
    deadline, so a moved deadline reminds again and a rerun never does."""
    actions = ImprovementAction.objects.filter(
        status__in=ImprovementAction.OPEN_STATUSES,
        deadline__lte=today + timedelta(days=DUE_SOON_DAYS),
    ).select_related("site", "owner")
    drafts = []
    for action in actions:
        overdue = action.deadline < today
        kind = "improvement_action_overdue" if overdue else "improvement_action_due"
        days = abs((action.deadline - today).days)
        when = (
            f"{days} day{'s' if days != 1 else ''} past its deadline"
            if overdue
            else ("due today" if days == 0 else f"due in {days} day{'s' if days != 1 else ''}")
        )
        owner = action.owner.get_full_name() or action.owner.get_username() if action.owner else ""
        lines = [
            f"Action {action.number}: {action.title}",
            f"Deadline {action.deadline:%-d %B %Y} ({when}); status {action.get_status_display().lower()}.",
            f"Owner: {owner}." if owner else "No owner named yet.",
        ]
        drafts.append(
            NoticeDraft(
                kind=kind,
                key=f"improvement_action:{action.pk}:{'overdue' if overdue else 'due'}:"
                f"{action.deadline.isoformat()}",
                title=f"Improvement action {action.number} {when}",
                lines=lines,
                url=org_path(organization, "learning_action_detail", number=action.number),
                template=f"learning/notices/{kind}",
                site_id=action.site_id,
                roles=(Role.IMPLEMENTATION_LEAD,)
                if action.owner_id
                else (Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR),
                user_ids=[action.owner_id] if action.owner_id else [],
                case_details=True,  # free text people wrote: not for commissioners
            )
        )
    return drafts


source = NoticeSource(
    name="learning",
    kinds=(
        NoticeKind(
            "improvement_action_due",
            "Improvement action due within 3 days",
            roles=ACTION_ROLES,
        ),
        NoticeKind("improvement_action_overdue", "Improvement action overdue", roles=ACTION_ROLES),
    ),
    collect=improvement_action_drafts,
)
