"""Demo data for assurance, after the pathway seeder's ~90 days of cases and events: comparator
baselines, a routine audit sample per site and month (audited, except the running month), a
handful of incidents and near misses mapped to steps, and a snapshot for every month with cases,
computed in order so drift baselines exist. One month is recomputed to show revisions, and the
first drift signal gets its standard response.

The story comes from the pathway seeder's profiles: South drifts (its late share rises month by
month) and people with a language need fall further behind there (a widening equity gap)."""

import hashlib
import random
from datetime import datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from assurance.models import AuditRecord, AuditSample, DriftSignal, Incident
from assurance.services import (
    assurance_settings_update,
    assurance_snapshot_compute,
    audit_record_save,
    audit_sample_draw,
    baseline_save,
    drift_signal_respond,
    incident_create,
    metric_definitions_ensure,
    month_add,
)
from pathways.models import Case

AUDIT_SITES = ("north", "south", "east")
# (site, days before today, kind, severity, failed steps, summary)
INCIDENTS = [
    ("south", 80, "near_miss", "no_harm", ["follow_up"], "Missed contact not followed up for 3 days"),
    ("north", 70, "near_miss", "no_harm", ["medication_reconciliation"], "Medication list not reconciled before visit"),
    ("south", 58, "incident", "low", ["first_home_visit"], "First home visit after 5 days; carer unsupported"),
    ("south", 45, "incident", "moderate", ["follow_up", "escalation_review"], "Two missed contacts, no escalation; ED attendance"),
    ("north", 40, "near_miss", "no_harm", ["intake"], "Referral sat in the shared inbox over a weekend"),
    ("south", 30, "incident", "moderate", ["escalation_review"], "Escalation to clinical lead 3 days late"),
    ("south", 21, "incident", "low", ["risk_assessment"], "Risk stratification recorded without medication risk"),
    ("east", 18, "near_miss", "no_harm", ["first_contact"], "Interpreter not booked for first contact"),
    ("south", 12, "incident", "severe", ["follow_up", "crisis_escalation"], "Disengagement not escalated; crisis admission"),
    ("south", 6, "near_miss", "low", ["missed_contact_follow_up"], "Follow-up call made to an old number"),
]  # fmt: skip


def _seed(*parts) -> int:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def seed_assurance(context) -> None:
    say = context.say
    organization = context.organization
    zone = organization.zone
    now = timezone.now()
    lead = context.users["lead"]
    supervisor = context.users["supervisor"]
    metric_definitions_ensure()
    # The defaults, stated: 10-point margins, flags from 10 cases, gaps widening 2 months running.
    assurance_settings_update(
        drift_margin=10.0, equity_margin=10.0, equity_widening_months=2, min_denominator=10
    )

    baseline_save(
        name="Riverside ICS 2025 (geographic)",
        kind="geographic",
        period="2025-01 to 2025-12",
        source="ICS outcomes return",
        rates={"low": (9.0, 2400), "medium": (14.0, 1900), "high": (22.0, 1100)},
        by=lead,
    )
    baseline_save(
        name="North pilot year (historical)",
        kind="historical",
        site=context.sites["north"],
        period="pilot year",
        source="pilot evaluation",
        rates={"low": (8.0, 310), "medium": (12.0, 260), "high": (19.0, 150)},
        by=lead,
    )

    first_referral = (
        Case.objects.order_by("referral_at").values_list("referral_at", flat=True).first()
    )
    if first_referral is None:
        say("no cases: assurance demo skipped")
        return
    this_month = timezone.localdate(now, zone).replace(day=1)
    month = timezone.localtime(first_referral, zone).date().replace(day=1)
    months = []
    while month <= this_month:
        months.append(month)
        month = month_add(month, 1)

    samples = 0
    for index, month in enumerate(months):
        for code in AUDIT_SITES:
            site = context.sites[code]
            try:
                sample = audit_sample_draw(
                    site=site, month=month, by=supervisor, seed=_seed("demo", code, month), size=5
                )
            except ValidationError:  # a site without cases that month has no sample
                continue
            samples += 1
            if month == this_month:
                continue  # the running month's sample waits for the auditors
            _audit(sample, code, index / max(len(months) - 1, 1), supervisor)
    say(f"{samples} audit samples drawn with recorded seeds")

    for code, days, kind, severity, steps, summary in INCIDENTS:
        at = datetime.combine(timezone.localdate(now, zone) - timedelta(days=days), time(11), zone)
        case = (
            Case.objects.filter(site=context.sites[code], referral_at__lte=at)
            .order_by("-referral_at")
            .first()
        )
        incident = incident_create(
            site=context.sites[code],
            kind=kind,
            severity=severity,
            occurred_at=at,
            summary=summary,
            failed_steps=steps,
            description="Found at the weekly huddle; reviewed at the monthly assurance meeting.",
            case_ref=case.external_ref if case and kind == "incident" else "",
            by=supervisor,
        )
        if days > 20:
            Incident.objects.filter(pk=incident.pk).update(
                review_status=Incident.Review.REVIEWED,
                review_outcome="Root cause at the step named; practitioner coached, huddle "
                "checklist updated.",
            )
    say(f"{len(INCIDENTS)} incidents and near misses mapped to steps")

    for month in months:
        assurance_snapshot_compute(
            organization=organization, month=month, reason="Demo history", now=now
        )
    if len(months) >= 3:
        assurance_snapshot_compute(
            organization=organization,
            month=months[-2],
            by=lead,
            reason="Late events from the partner system",
            now=now,
        )
    signals = DriftSignal.objects.exclude(status=DriftSignal.Status.WITHDRAWN).order_by("month")
    first = signals.filter(site=context.sites["south"]).first() or signals.first()
    if first is not None:
        drift_signal_respond(
            signal=first,
            by=lead,
            coaching="Practice educator with the South team on time standards for follow-ups.",
            extra_supervision="Weekly case review with the supervisor until the re-audit.",
        )
    say(
        f"snapshots for {len(months)} months ({months[0]:%Y-%m} to {months[-1]:%Y-%m}); "
        f"{signals.count()} drift signals"
    )


def _audit(sample: AuditSample, code: str, progress: float, auditor) -> None:
    """South's records get worse as it drifts; North and East stay good."""
    rng = random.Random(sample.seed)
    miss = {"north": 0.08, "east": 0.15}.get(code, 0.12 + 0.35 * progress)
    for record in sample.records.all():
        answers = [
            AuditRecord.Answer.NO if rng.random() < miss else AuditRecord.Answer.YES
            for _ in range(3)
        ]
        if rng.random() < 0.4:
            answers[2] = AuditRecord.Answer.NOT_APPLICABLE
        audit_record_save(
            record=record,
            by=auditor,
            documentation_complete=answers[0],
            steps_evidenced=answers[1],
            escalation_appropriate=answers[2],
            notes=""
            if AuditRecord.Answer.NO not in answers
            else "Gaps discussed with the practitioner.",
        )


def seed_drift_responses(context) -> None:
    """After coaching was held (workforce's demo): each drift signal whose window has opened
    gets its re-audit sample; the re-audit month of a signal whose response has run is
    recomputed, so its verdict (given only after the response) shows."""
    from assurance.services.drift_response import drift_response_parts, drift_response_ran

    organization = context.organization
    now = timezone.now()
    today = timezone.localdate(now, organization.zone)
    drawn = 0
    signals = DriftSignal.objects.exclude(status=DriftSignal.Status.WITHDRAWN).select_related(
        "site"
    )
    for signal in signals.filter(reaudit_from__lte=today).order_by("month"):
        if AuditSample.objects.filter(
            site=signal.site,
            month=signal.reaudit_from.replace(day=1),
            kind=AuditSample.Kind.REAUDIT,
        ).exists():
            continue
        try:
            audit_sample_draw(
                site=signal.site,
                month=signal.reaudit_from.replace(day=1),
                kind=AuditSample.Kind.REAUDIT,
                seed=_seed("reaudit", signal.site.code, signal.month),
                size=5,
            )
        except ValidationError:
            continue
        drawn += 1
    months = set()
    for signal in signals:
        if drift_response_ran(drift_response_parts(signal=signal)):
            month = signal.reaudit_until.replace(day=1)
            if month_add(month, 1) <= today.replace(day=1):
                months.add(month)
    for month in sorted(months):
        assurance_snapshot_compute(
            organization=organization, month=month, reason="Re-audit after the drift response",
            now=now,
        )  # fmt: skip
    context.say(f"{drawn} re-audit samples drawn; {len(months)} re-audit months reviewed")
