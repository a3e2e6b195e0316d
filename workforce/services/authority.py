"""Workforce standards and the decision-authority matrix.

The matrix says which staff roles may close a case, approve an escalation and accept a deviation.
It is in force once the organisation has adopted a workforce standard; a user decides with the
roles of their staff records at the case's site. Org admins hold every authority in their
organisation (DESIGN.md, roles)."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from pathways.models import Case
from pathways.services.exception_triage import TriageAction
from scaling_ops.models import Membership, Role, Site
from workforce.models import (
    CaseDecision,
    Decision,
    StaffMember,
    StaffRole,
    WorkforceStandard,
)


def standard_for(*, pathway_id: int | None = None) -> WorkforceStandard | None:
    """The pathway's standard, else the organisation's, else None (no standard adopted)."""
    standards = {s.pathway_id: s for s in WorkforceStandard.objects.filter(
        Q(pathway_id=pathway_id) | Q(pathway__isnull=True)
    )}  # fmt: skip
    return standards.get(pathway_id) or standards.get(None)


def standard_or_default(*, pathway_id: int | None = None) -> WorkforceStandard:
    """Thresholds for the checks: the standard in force, or the built-in defaults."""
    return standard_for(pathway_id=pathway_id) or WorkforceStandard()


def _validate_authority(authority: dict) -> dict:
    clean = {}
    for decision in Decision.values:
        roles = authority.get(decision, [])
        unknown = sorted(set(roles) - set(StaffRole.values))
        if unknown:
            raise ValidationError(
                {"authority": f"{decision}: unknown roles {', '.join(unknown)}; "
                 f"use {', '.join(StaffRole.values)}."}
            )  # fmt: skip
        clean[decision] = [role for role in StaffRole.values if role in roles]
    return clean


def workforce_standard_save(
    *, by=None, pathway_id: int | None = None, **values
) -> WorkforceStandard:
    standard = WorkforceStandard.objects.filter(pathway_id=pathway_id).first() or WorkforceStandard(
        pathway_id=pathway_id
    )
    if "authority" in values:
        values["authority"] = _validate_authority(values["authority"])
    share = values.get("min_experienced_share", standard.min_experienced_share)
    if not 0 <= share <= 1:
        raise ValidationError(
            {"min_experienced_share": "Give a share between 0 and 1, e.g. 0.5 for half."}
        )
    for name, value in values.items():
        setattr(standard, name, value)
    standard.full_clean(exclude=["organization", "pathway"])
    standard._history_user = by
    standard.save()
    return standard


def _role_labels(roles) -> str:
    labels = dict(StaffRole.choices)
    return ", ".join(labels[r].lower() for r in roles) or "nobody"


def authority_refusals(
    *, decision: str, by, site: Site, pathway_id: int | None, day=None
) -> list[str]:
    """Reasons ``by`` may not take ``decision`` at ``site``; empty when allowed."""
    standard = standard_for(pathway_id=pathway_id)
    if standard is None:
        return []
    if Membership.objects.filter(user=by, role=Role.ORG_ADMIN).exists():
        return []
    day = day or timezone.localdate()
    allowed = standard.roles_for(decision)
    held = set(
        StaffMember.objects.filter(user=by, site=site, start_date__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .values_list("role", flat=True)
    )
    if held & set(allowed):
        return []
    who = f"you are {_role_labels(sorted(held))}" if held else "you are not on its staff list"
    label = Decision(decision).label
    return [
        f"{label} at {site.name} is for {_role_labels(allowed)} under the workforce standard; "
        f"{who}."
    ]


def triage_accept_guard(action: str, by, items) -> list[str]:
    """Registered in ``pathways.services.exception_triage.triage_guards``: accepting a deviation
    in the exception queue follows the matrix, per (site, pathway) of the items."""
    if action != TriageAction.ACCEPT or not items:
        return []
    rows = Case.objects.filter(pk__in={item.case_id for item in items}).values_list(
        "site_id", "version__pathway_id"
    )
    sites = {site.pk: site for site in Site.objects.filter(pk__in={s for s, _ in rows})}
    reasons = []
    for site_id, pathway_id in sorted(set(rows)):
        for reason in authority_refusals(
            decision=Decision.ACCEPT_DEVIATION, by=by, site=sites[site_id], pathway_id=pathway_id
        ):
            if reason not in reasons:
                reasons.append(reason)
    return reasons


def case_decision_record(*, case: Case, decision: str, by, note: str) -> CaseDecision:
    note = (note or "").strip()
    if decision not in (Decision.CLOSE_CASE, Decision.APPROVE_ESCALATION):
        raise ValidationError({"decision": "Choose close a case or approve an escalation."})
    if not note:
        raise ValidationError({"note": "Write the grounds for the decision: it is kept."})
    refusals = authority_refusals(
        decision=decision, by=by, site=case.site, pathway_id=case.version.pathway_id
    )
    if refusals:
        raise ValidationError(refusals)
    roles = StaffMember.objects.filter(user=by, site=case.site).values_list("role", flat=True)
    authority = ", ".join(sorted(set(roles))) or "org admin"
    return CaseDecision.objects.create(
        case=case, decision=decision, by=by, authority=authority, note=note,
        decided_at=timezone.now(),
    )  # fmt: skip
