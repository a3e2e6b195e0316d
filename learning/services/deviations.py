"""The deviation log: structured departures from the pathway logged by supervisors, and one per
exception accepted with a reason (from pathways' ``exception_items_triaged`` signal)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from learning.models import Deviation
from learning.services.common import next_number, record, required
from scaling_ops import tenancy
from scaling_ops.models import Organization

Category = Deviation.Category

# exception kind -> deviation category
EXCEPTION_CATEGORIES = {
    "overdue_step": Category.STEP_DELAYED,
    "late_step": Category.STEP_DELAYED,
    "missed_escalation": Category.ESCALATION_NOT_RAISED,
    "incomplete_assessment": Category.ASSESSMENT_INCOMPLETE,
    "missed_safeguarding": Category.STEP_DELAYED,
    "tier_disagreement": Category.TOOL_OR_SCRIPT,
}


def deviation_log(
    *,
    category: str,
    step: str,
    site,
    occurred_on: date,
    by=None,
    referral_source: str = Deviation.ReferralSource.UNKNOWN,
    note: str = "",
    exception_id: int | None = None,
) -> Deviation:
    errors = {}
    if category not in Category.values:
        errors["category"] = "Choose a category."
    if referral_source not in Deviation.ReferralSource.values:
        errors["referral_source"] = "Choose a referral source (or not recorded)."
    if occurred_on is None:
        errors["occurred_on"] = "Give the day it happened."
    if errors:
        raise ValidationError(errors)
    step = required(step, "step", "the step it concerns")
    if exception_id and Deviation.objects.filter(exception_id=exception_id).exists():
        raise ValidationError("A deviation is already logged for this exception.")
    deviation = Deviation(
        number=next_number(Deviation),
        category=category,
        step=step[:80],
        site=site,
        referral_source=referral_source,
        note=(note or "").strip(),
        occurred_on=occurred_on,
        exception_id=exception_id,
        logged_by=by,
    )
    record(deviation, by=by, reason="Logged" + (" from an exception" if exception_id else ""))
    deviation.save()
    return deviation


def deviation_update(
    *, deviation: Deviation, by, category: str, step: str, referral_source: str, note: str
) -> Deviation:
    if category not in Category.values:
        raise ValidationError({"category": "Choose a category."})
    deviation.category = category
    deviation.step = required(step, "step", "the step it concerns")[:80]
    deviation.referral_source = referral_source
    deviation.note = (note or "").strip()
    record(deviation, by=by, reason="Edited")
    deviation.save()
    return deviation


@transaction.atomic
def deviations_from_accepted_exceptions(*, items, by=None) -> list[Deviation]:
    """One deviation per accepted exception, idempotent (an exception already logged is
    skipped). Set-based: one query for the existing ones, one insert, one history insert."""
    items = [item for item in items if item.status == "accepted"]
    if not items:
        return []
    known = set(
        Deviation.objects.filter(exception_id__in=[item.pk for item in items]).values_list(
            "exception_id", flat=True
        )
    )
    start = next_number(Deviation)
    now = timezone.now()
    zone = Organization.objects.get(pk=items[0].organization_id).zone
    created = []
    for item in items:
        if item.pk in known:
            continue
        anchor = item.due_at or item.anchor_at or now
        created.append(
            Deviation(
                organization_id=item.organization_id,
                number=start + len(created),
                category=EXCEPTION_CATEGORIES.get(item.kind, Category.OTHER),
                step=item.step,
                site_id=item.site_id,
                referral_source=Deviation.ReferralSource.UNKNOWN,
                note=item.note,
                occurred_on=timezone.localdate(anchor, timezone=zone),
                exception_id=item.pk,
                logged_by=by,
            )
        )
        known.add(item.pk)
    if created:
        created = Deviation.objects.bulk_create(created)
        Deviation.history.bulk_history_create(
            created,
            default_user=by,
            default_change_reason="Logged from an accepted exception",
            default_date=now,
        )
    return created


def on_exception_items_triaged(sender, *, action, by, items, **kwargs) -> None:
    """Receiver of pathways' ``exception_items_triaged``: accepted exceptions become deviations."""
    if action != "accept" or not items:
        return
    # Bound already inside a request or task; binding again makes the receiver safe anywhere.
    with tenancy.scope(items[0].organization_id):
        deviations_from_accepted_exceptions(items=items, by=by)
