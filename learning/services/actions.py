"""The improvement log: corrective actions with a named owner and a deadline, raised by hand or
in one click from an exception, an incident, a drift signal (through assurance's hook), a contract
corrective-action process or a learning review, with the link kept both ways."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from learning.models import ImprovementAction
from learning.selectors import action_is_overdue, learning_settings_get, organization_today
from learning.services.common import check_owner, next_number, record, required
from pathways.selectors.versions import step_names_in_use
from pathways.site_figures import FollowUpAction
from pathways.wording import step_name
from scaling_ops.links import org_path

Status = ImprovementAction.Status
Source = ImprovementAction.Source

# model name of a source record -> the source kind it raises
SOURCE_KINDS = {
    "exceptionitem": Source.EXCEPTION,
    "incident": Source.INCIDENT,
    "auditsample": Source.AUDIT,
    "auditrecord": Source.AUDIT,
    "driftsignal": Source.DRIFT_SIGNAL,
    "learningreview": Source.LEARNING_REVIEW,
    "coachingsession": Source.COACHING,
}
# A follow-up is due from tomorrow and within a year: a plausible window for a deadline.
FOLLOW_UP_HORIZON_DAYS = 366


def source_kind_for(model_name: str) -> str:
    if model_name in SOURCE_KINDS:
        return SOURCE_KINDS[model_name]
    if any(word in model_name for word in ("contract", "clause", "corrective", "term")):
        return Source.CONTRACT_CLAUSE
    return Source.OTHER


@transaction.atomic
def improvement_action_create(
    *,
    title: str,
    owner,
    deadline: date,
    by=None,
    site=None,
    description: str = "",
    source_kind: str = Source.OTHER,
    source_model: str = "",
    source_id: int | None = None,
    source_label: str = "",
    review=None,
    reaudit_on: date | None = None,
) -> ImprovementAction:
    title = required(title, "title", "what the action is")
    check_owner(owner)
    if deadline is None:
        raise ValidationError({"deadline": "Give the action a deadline."})
    if source_kind not in Source.values:
        raise ValidationError({"source_kind": "Choose where the action comes from."})
    action = ImprovementAction(
        number=next_number(ImprovementAction),
        title=title[:200],
        description=(description or "").strip(),
        site=site,
        source_kind=source_kind,
        source_model=source_model,
        source_id=source_id,
        source_label=source_label[:200],
        review=review,
        owner=owner,
        deadline=deadline,
        reaudit_on=reaudit_on,
        created_by=by,
    )
    record(action, by=by, reason="Raised" + (f" from {source_label}" if source_label else ""))
    action.save()
    return action


def improvement_action_update(
    *,
    action: ImprovementAction,
    by,
    title: str,
    owner,
    deadline: date,
    site=None,
    description: str = "",
    reaudit_on: date | None = None,
) -> ImprovementAction:
    if action.status == Status.VERIFIED:
        raise ValidationError("A verified action is closed evidence and cannot change.")
    check_owner(owner)
    if deadline is None:
        raise ValidationError({"deadline": "Give the action a deadline."})
    changed = []
    if owner != action.owner:
        changed.append(f"owner → {owner.get_username()}")
    if deadline != action.deadline:
        changed.append(f"deadline → {deadline:%Y-%m-%d}")
    action.title = required(title, "title", "what the action is")[:200]
    action.owner = owner
    action.deadline = deadline
    action.site = site
    action.description = (description or "").strip()
    action.reaudit_on = reaudit_on
    record(action, by=by, reason="Edited" + (f": {', '.join(changed)}" if changed else ""))
    action.save()
    return action


def improvement_action_transition(
    *,
    action: ImprovementAction,
    by,
    status: str,
    closure_evidence: str = "",
    reaudit_on: date | None = None,
) -> ImprovementAction:
    """open → in progress → done → verified. Done needs closure evidence; verification is by
    someone other than the owner when anyone else could."""
    if status not in Status.values:
        raise ValidationError({"status": "Choose a status."})
    allowed = ImprovementAction.TRANSITIONS[Status(action.status)]
    if status not in allowed:
        names = ", ".join(Status(s).label.lower() for s in sorted(allowed)) or "none"
        raise ValidationError(
            {
                "status": f"An action that is {action.get_status_display().lower()} cannot "
                f"become {Status(status).label.lower()}; allowed: {names}."
            }
        )
    evidence = (closure_evidence or "").strip()
    if evidence:
        action.closure_evidence = evidence
    if status in (Status.DONE, Status.VERIFIED) and not action.closure_evidence:
        raise ValidationError(
            {"closure_evidence": "Say what shows the action is done (the closure evidence)."}
        )
    if reaudit_on is not None:
        action.reaudit_on = reaudit_on
    now = timezone.now()
    if status == Status.DONE:
        action.done_at = now
    if status == Status.VERIFIED:
        action.verified_at = now
        action.verified_by = by
    if status == Status.IN_PROGRESS and action.status == Status.DONE:
        action.done_at = None
    action.status = status
    record(action, by=by, reason=f"Status → {Status(status).label.lower()}")
    action.save()
    return action


def _default_deadline() -> date:
    return organization_today() + timedelta(days=learning_settings_get().default_deadline_days)


def improvement_action_raise_from_source(*, source, by) -> ImprovementAction:
    """One click: an action owned by whoever raised it, due in the default number of days,
    linked to ``source`` by model name and primary key. Raising twice finds the first."""
    model_name = source._meta.model_name
    existing = (
        ImprovementAction.objects.filter(source_model=model_name, source_id=source.pk)
        .order_by("number")
        .first()
    )
    if existing is not None:
        return existing
    label = source_label_for(source)
    kind = source_kind_for(model_name)
    return improvement_action_create(
        title=f"{Source(kind).label}: {label}",
        owner=by,
        deadline=_default_deadline(),
        by=by,
        site=getattr(source, "site", None),
        source_kind=kind,
        source_model=model_name,
        source_id=source.pk,
        source_label=label,
    )


def source_label_for(source) -> str:
    """A label without case refs (commissioners read the improvement log)."""
    if source._meta.model_name == "exceptionitem":
        due = f", due {timezone.localdate(source.due_at):%Y-%m-%d}" if source.due_at else ""
        step = step_name(source.step, step_names_in_use())
        return f"{source.get_kind_display()} at {step}, {source.site.name}{due}"
    return str(source)[:200]


def assurance_improvement_action_provider(*, source, by) -> str:
    """Registered into ``assurance.extension_points.improvement_action_providers``: the incident, drift
    signal (or contract corrective action) keeps the reference; the action keeps the source."""
    return improvement_action_raise_from_source(source=source, by=by).reference


def _follow_up(action: ImprovementAction, today: date) -> FollowUpAction:
    owner = action.owner
    return FollowUpAction(
        reference=action.reference,
        title=action.title,
        owner=(owner.get_full_name() or owner.get_username()) if owner else "—",
        deadline=action.deadline,
        status=action.get_status_display(),
        overdue=action_is_overdue(action, today),
        url=org_path(action.organization, "learning_action_detail", number=action.number),
    )


def follow_up_raise(
    *, source_model: str, source_id: int, source_label: str, site, title: str, owner,
    deadline: date, by,
) -> FollowUpAction:  # fmt: skip
    """Registered into ``pathways.extension_points.follow_up_actions``: an improvement action
    raised from a record of an app that may not import learning (a coaching session), linked
    to it by model name and id. Checked whole before anything is stored."""
    title = required(title, "title", "what the action is")
    if len(title) > 200:
        raise ValidationError({"title": "Keep the title under 200 characters."})
    today = organization_today()
    if deadline is None or deadline < today:
        raise ValidationError({"deadline": "Give a deadline from today on."})
    if deadline > today + timedelta(days=FOLLOW_UP_HORIZON_DAYS):
        raise ValidationError({"deadline": "Give a deadline within a year."})
    action = improvement_action_create(
        title=title, owner=owner, deadline=deadline, by=by, site=site,
        source_kind=source_kind_for(source_model), source_model=source_model,
        source_id=source_id, source_label=source_label,
    )  # fmt: skip
    return _follow_up(action, today)


def follow_ups_for(*, source_model: str, source_ids: list[int]) -> dict[int, list[FollowUpAction]]:
    """The actions raised from these records, by record id: one query."""
    today = organization_today()
    found: dict[int, list[FollowUpAction]] = {}
    actions = (
        ImprovementAction.objects.filter(source_model=source_model, source_id__in=source_ids)
        .select_related("owner", "organization")
        .order_by("deadline", "number")
    )
    for action in actions:
        found.setdefault(action.source_id, []).append(_follow_up(action, today))
    return found
