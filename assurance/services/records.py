"""Record audits (reproducible samples), incidents and near misses, and the link point to the
improvement log."""

import random
import secrets
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from assurance.extension_points import improvement_action_providers
from assurance.models import AuditRecord, AuditSample, DriftSignal, Incident
from assurance.services.metrics import assurance_settings_get, month_window
from pathways.models import Case, CaseEvent, Step
from scaling_ops.models import Site

# --- improvement actions: the link point for the learning app --------------------------------


def improvement_action_raise(*, source: Incident | DriftSignal, by) -> str:
    """Raises an improvement action from an incident or a drift signal through the registered
    provider and keeps its reference on the source."""
    providers = improvement_action_providers.providers()
    if not providers:
        raise ValidationError(
            "No improvement log is installed yet: record the reference of the action you "
            "opened elsewhere in the improvement action field."
        )
    if source.improvement_action_ref:
        raise ValidationError(f"Improvement action {source.improvement_action_ref} exists already.")
    reference = providers[0](source=source, by=by)
    source.improvement_action_ref = str(reference)[:100]
    source._history_user = by
    source._change_reason = "Improvement action raised"
    source.save(update_fields=["improvement_action_ref"])
    return source.improvement_action_ref


# --- record audits --------------------------------------------------------------------------


def audit_population(*, site: Site, month: date, now: datetime | None = None) -> list[int]:
    """Ids of the site's cases with activity in the month (referred, or any event recorded in
    it), in id order: the frame a sample is drawn from."""
    start, end = month_window(organization=site.organization, month=month)
    until = min(end, now or timezone.now())
    active = CaseEvent.objects.filter(
        case_id=OuterRef("pk"), occurred_at__gte=start, occurred_at__lt=until
    )
    return list(
        Case.objects.filter(site=site)
        .filter(Q(referral_at__gte=start, referral_at__lt=until) | Exists(active))
        .order_by("id")
        .values_list("id", flat=True)
    )


def audit_sample_choose(population: list[int], size: int, seed: int) -> list[int]:
    """The same population and seed always give the same cases, in the same order."""
    return random.Random(seed).sample(sorted(population), min(size, len(population)))


def audit_sample_draw(
    *,
    site: Site,
    month: date,
    by=None,
    seed: int | None = None,
    size: int | None = None,
    kind: str = AuditSample.Kind.ROUTINE,
    now: datetime | None = None,
) -> AuditSample:
    month = month.replace(day=1)
    start, _ = month_window(organization=site.organization, month=month)
    if start > (now or timezone.now()):
        raise ValidationError(f"{month:%Y-%m} has not started; draw its sample once it has.")
    size = size or assurance_settings_get().audit_sample_size
    if seed is None:
        seed = secrets.randbelow(2**31)
    population = audit_population(site=site, month=month, now=now)
    if not population:
        raise ValidationError(f"{site.name} has no cases with activity in {month:%Y-%m}.")
    chosen = audit_sample_choose(population, size, seed)
    try:
        with transaction.atomic():
            sample = AuditSample(
                site=site,
                month=month,
                kind=kind,
                seed=seed,
                size=size,
                population=len(population),
                drawn_by=by,
            )
            sample._history_user = by
            sample.save()
            AuditRecord.objects.bulk_create(
                [
                    AuditRecord(
                        organization_id=sample.organization_id,
                        sample=sample,
                        case_id=case_id,
                        position=position,
                    )
                    for position, case_id in enumerate(chosen, start=1)
                ]
            )
    except IntegrityError:
        raise ValidationError(
            f"{site.name} already has a {AuditSample.Kind(kind).label.lower()} sample for "
            f"{month:%Y-%m}."
        ) from None
    return sample


def audit_record_save(
    *,
    record: AuditRecord,
    by,
    documentation_complete: str,
    steps_evidenced: str,
    escalation_appropriate: str,
    notes: str = "",
) -> AuditRecord:
    answers = {
        "documentation_complete": documentation_complete,
        "steps_evidenced": steps_evidenced,
        "escalation_appropriate": escalation_appropriate,
    }
    errors = {
        name: "Answer yes, no or not applicable."
        for name, value in answers.items()
        if value not in AuditRecord.Answer.values
    }
    if errors:
        raise ValidationError(errors)
    for name, value in answers.items():
        setattr(record, name, value)
    record.notes = notes.strip()
    record.auditor = by
    record.audited_at = timezone.now()
    record._history_user = by
    record._change_reason = "Audited"
    record.save()
    return record


# --- incidents ------------------------------------------------------------------------------


def known_step_keys() -> list[str]:
    return sorted(set(Step.objects.values_list("key", flat=True)))


def _check_incident(*, site: Site, case_ref: str, failed_steps: list[str]) -> Case | None:
    errors = {}
    unknown = sorted(set(failed_steps) - set(known_step_keys()))
    if unknown:
        errors["failed_steps"] = f"Unknown step(s): {', '.join(unknown)}."
    case = None
    if case_ref:
        case = Case.objects.filter(site=site, external_ref=case_ref.strip()).first()
        if case is None:
            errors["case_ref"] = f"No case {case_ref!r} at {site.name}."
    if errors:
        raise ValidationError(errors)
    return case


def incident_create(
    *,
    site: Site,
    kind: str,
    severity: str,
    occurred_at: datetime,
    category: str = Incident.Category.GENERAL,
    summary: str,
    failed_steps: list[str],
    description: str = "",
    case_ref: str = "",
    by=None,
) -> Incident:
    if timezone.is_naive(occurred_at):
        raise ValidationError({"occurred_at": "Give the time with its time zone."})
    if occurred_at > timezone.now():
        raise ValidationError({"occurred_at": "An incident cannot be in the future."})
    case = _check_incident(site=site, case_ref=case_ref, failed_steps=failed_steps)
    incident = Incident(
        site=site,
        case=case,
        kind=kind,
        category=category,
        severity=severity,
        occurred_at=occurred_at,
        summary=summary.strip(),
        description=description.strip(),
        failed_steps=list(dict.fromkeys(failed_steps)),
        reported_by=by,
    )
    incident.full_clean(exclude=["organization", "case"])
    incident._history_user = by
    incident._change_reason = "Recorded"
    incident.save()
    return incident


def incident_review(
    *,
    incident: Incident,
    by,
    review_status: str,
    review_outcome: str,
    failed_steps: list[str] | None = None,
    improvement_action_ref: str = "",
) -> Incident:
    if review_status not in Incident.Review.values:
        raise ValidationError({"review_status": "Choose a review status."})
    if review_status != Incident.Review.OPEN and not review_outcome.strip():
        raise ValidationError({"review_outcome": "Say what the review found before closing it."})
    if failed_steps is not None:
        _check_incident(site=incident.site, case_ref="", failed_steps=failed_steps)
        incident.failed_steps = list(dict.fromkeys(failed_steps))
    incident.review_status = review_status
    incident.review_outcome = review_outcome.strip()
    incident.improvement_action_ref = improvement_action_ref.strip()[:100]
    incident._history_user = by
    incident._change_reason = f"Review: {incident.get_review_status_display()}"
    incident.save()
    return incident
