"""The front door of a case (README "The front door"): the referral a partner's PUT carries,
checked against the pathway version's referral fields and eligibility rules and kept on the case;
the risk tool's tier from the case's assessments; and a supervisor's acceptance of a referral
held at the front door.

A referral is never refused for being incomplete or ineligible (the partner must not lose data):
it is stored with what it lacks and held for review until it is completed or accepted."""

import math
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from pathways.definitions import stored_referral_rules, stored_risk_tool
from pathways.front_door import NOT_ASSESSABLE, referral_completeness, referral_eligibility
from pathways.models import Case, CaseEvent, EventType, ReferralAcceptance

REFERRAL_FIELDS = ("referral_source", "referral")
REFERRAL_STORED = (
    "referral_source",
    "referral",
    "referral_missing_required",
    "referral_missing_recommended",
    "eligibility",
    "eligibility_rules",
    "referral_needs_review",
)
SOURCE_LENGTH = Case._meta.get_field("referral_source").max_length
MAX_REFERRAL_FIELDS = 50
REFERRAL_KEY_LENGTH = 80
REFERRAL_TEXT_LENGTH = 1000
ACCEPT_REASON_LENGTH = ReferralAcceptance._meta.get_field("reason").max_length


def referral_errors(referral: dict) -> list[tuple[str, str]]:
    """(field, message) for each unusable front-door field of a case PUT (none when absent)."""
    errors = []
    source = referral.get("referral_source")
    if source is not None and (not isinstance(source, str) or len(source) > SOURCE_LENGTH):
        errors.append(
            (
                "referral_source",
                f"Name who referred as text of at most {SOURCE_LENGTH} characters, e.g. "
                '"East General discharge team" (or leave it out).',
            )
        )
    fields = referral.get("referral")
    if fields is None:
        return errors
    if not isinstance(fields, dict):
        return [*errors, ("referral", "Send the referral's fields as an object (or leave it out).")]
    if len(fields) > MAX_REFERRAL_FIELDS:
        errors.append(("referral", f"Send at most {MAX_REFERRAL_FIELDS} referral fields."))
        return errors
    for key, value in fields.items():
        if not 1 <= len(key) <= REFERRAL_KEY_LENGTH:
            errors.append(
                ("referral", f"Name each referral field in 1 to {REFERRAL_KEY_LENGTH} characters.")
            )
        elif not _usable_value(value):
            errors.append(
                (
                    f"referral.{key}",
                    "Send text of at most "
                    f"{REFERRAL_TEXT_LENGTH} characters, a number, true/false or null.",
                )
            )
    return errors


def _usable_value(value) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= REFERRAL_TEXT_LENGTH


def case_referral_assess(*, case: Case) -> None:
    """Sets the case's completeness and eligibility from its stored referral and attributes
    against its pinned version's front door (unsaved: the caller saves REFERRAL_STORED)."""
    fields, rules = stored_referral_rules(case.version.front_door)
    referral = case.referral or {}
    completeness = referral_completeness(fields, referral)
    attributes = {
        "language_need": case.language_need,
        "disability": case.disability,
        "rurality": case.rurality or None,
        "housing": case.housing or None,
    }
    eligibility = referral_eligibility(rules, attributes, referral)
    case.referral_missing_required = list(completeness.missing_required)
    case.referral_missing_recommended = list(completeness.missing_recommended)
    case.eligibility = eligibility.status
    case.eligibility_rules = [
        {"rule": rule.key, "reason": rule.reason, "outcome": "fails"}
        for rule in eligibility.failing
    ] + [
        {"rule": rule.key, "reason": rule.reason, "outcome": "cannot be checked"}
        for rule in eligibility.unassessable
    ]
    case.referral_needs_review = (
        not completeness.is_complete
        or eligibility.status == "ineligible"
        or eligibility.status == NOT_ASSESSABLE
    )


def case_computed_tiers_refresh(*, tools: dict[int, dict]) -> None:
    """Each case's computed tier from its latest scored assessment of its risk tool's step (by
    occurred_at): one read of those cases' assessments and one update. ``tools``
    maps case ids to their version's stored risk tool; nothing is read when it is empty."""
    if not tools:
        return
    parsed = {id(tool): stored_risk_tool(tool) for tool in tools.values()}
    by_case = {case_id: parsed[id(tool)] for case_id, tool in tools.items()}
    latest: dict[int, tuple[datetime, str]] = {}
    rows = (
        CaseEvent.objects.filter(case_id__in=by_case, type=EventType.STEP_COMPLETED)
        .order_by("occurred_at", "pk")
        .values_list("case_id", "step_key", "occurred_at", "data")
    )
    for case_id, step, occurred_at, data in rows:
        tool = by_case[case_id]
        tier = tool.tier(data) if step == tool.step else None
        if tier is not None:
            latest[case_id] = (occurred_at, tier)
    Case.objects.bulk_update(
        [
            Case(pk=case_id, computed_tier=tier, computed_tier_at=at)
            for case_id, (at, tier) in latest.items()
        ],
        ["computed_tier", "computed_tier_at"],
    )


@transaction.atomic
def referral_accept(*, case: Case, reason: str, by, now: datetime) -> ReferralAcceptance:
    """Takes a referral held at the front door in as it is, with the supervisor's reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the referral is accepted as it is.")
    if len(reason) > ACCEPT_REASON_LENGTH:
        raise ValidationError(f"Keep the reason to {ACCEPT_REASON_LENGTH} characters.")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.referral_needs_review:
        raise ValidationError(f"The referral of {case.external_ref} is complete and eligible.")
    if ReferralAcceptance.objects.filter(case=case).exists():
        raise ValidationError(f"The referral of {case.external_ref} was already accepted.")
    acceptance = ReferralAcceptance(case=case, reason=reason, accepted_by=by, accepted_at=now)
    acceptance._history_user = by
    acceptance._change_reason = "accepted at the front door"
    acceptance.save()
    return acceptance
