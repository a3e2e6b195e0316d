"""A drift signal's standard response as tracked records.

When a signal is raised, assurance sends ``pathways.extension_points.drift_response_opened``:
workforce schedules the coaching session (due within its standard's days) and puts the site's
teams on a shorter supervision interval until the re-audit window ends. Assurance draws the
re-audit sample itself when the window opens (``reaudit_samples_draw_due``, in beat). The
signal's page shows each part done / due / late through ``drift_response_parts``; the recovery
verdict is given only once every part has run, and a part done after its date shows as late."""

import logging
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from assurance import selectors
from assurance.models import AuditRecord, AuditSample, DriftSignal
from assurance.services.records import audit_sample_draw
from pathways.extension_points import drift_response_opened, drift_response_part_done
from pathways.site_figures import ResponsePart, SiteFigure, parts_for_response
from scaling_ops.dates import local_midnight
from scaling_ops.links import org_path
from scaling_ops.models import Organization

logger = logging.getLogger(__name__)
REAUDIT_SAMPLE_DAYS = 7


def drift_source_key(signal: DriftSignal) -> str:
    return f"drift_signal:{signal.pk}"


def drift_label(signal: DriftSignal) -> str:
    definitions = selectors.metric_definitions()
    measure = definitions[signal.measure].name if signal.measure in definitions else signal.measure
    return f"Drift at {signal.site.name}: {measure}, {signal.month:%B %Y}"


def drift_response_open(*, signal: DriftSignal) -> None:
    """Opens the response's records in the apps that hold them (idempotent on their side).
    The response's clock starts when the drifting month has closed (the re-audit window's
    start), not when its snapshot happened to be computed: a late computation does not buy
    the response time."""
    drift_response_opened.send(
        sender=DriftSignal,
        source_key=drift_source_key(signal),
        site=signal.site,
        opened_on=signal.reaudit_from,
        window_until=signal.reaudit_until,
        label=drift_label(signal),
    )


def _reaudit_sample(signal: DriftSignal) -> AuditSample | None:
    return AuditSample.objects.filter(
        site_id=signal.site_id,
        month=signal.reaudit_from.replace(day=1),
        kind=AuditSample.Kind.REAUDIT,
    ).first()


def drift_response_parts(*, signal: DriftSignal) -> list[ResponsePart]:
    """Every part of the response: the other apps' (coaching, extra supervision), then the
    re-audit sample, due when the window opens."""
    parts = parts_for_response(source_key=drift_source_key(signal), site=signal.site)
    sample = _reaudit_sample(signal)
    zone = signal.site.organization.zone
    parts.append(
        ResponsePart(
            label="Re-audit sample",
            # Drawn in the window's first week (beat tries daily from its first day; a sample
            # needs cases with activity in the window's month).
            due_on=signal.reaudit_from + timedelta(days=REAUDIT_SAMPLE_DAYS),
            done_on=timezone.localdate(sample.drawn_at, zone) if sample else None,
            url=org_path(signal.site.organization, "assurance_audit_detail", pk=sample.pk)
            if sample
            else "",
            detail=f"{sample.size} cases from {sample.population}" if sample else "",
        )
    )
    return parts


def drift_response_ran(parts: list[ResponsePart]) -> bool:
    return all(part.done_on is not None for part in parts)


def drift_response_late(parts: list[ResponsePart], today: date) -> bool:
    return any(part.state(today) in ("late", "done late") for part in parts)


def reaudit_samples_draw_due(*, organization: Organization, today: date) -> list[AuditSample]:
    """Draws the re-audit sample of every signal whose window has opened and has none yet."""
    signals = (
        DriftSignal.objects.exclude(status=DriftSignal.Status.WITHDRAWN)
        .filter(reaudit_from__lte=today, reaudit_until__gte=today)
        .select_related("site__organization")
    )
    drawn = []
    for signal in signals:
        if _reaudit_sample(signal) is not None:
            continue
        try:
            drawn.append(
                audit_sample_draw(
                    site=signal.site,
                    month=signal.reaudit_from.replace(day=1),
                    kind=AuditSample.Kind.REAUDIT,
                )
            )
        except ValidationError as error:
            # No cases with activity yet in the window's month: the next run tries again.
            logger.info("Re-audit sample for %s not drawn yet: %s", signal, error.messages[0])
        else:
            drift_response_part_done.send(
                sender=AuditSample, source_key=drift_source_key(signal), site=signal.site
            )
    return drawn


def audit_and_drift_week_figures(*, site, week_start: date, week_end: date, organization):
    """For the coaching agenda: the week's failed audit answers at the site (records audited in
    the week) and the site's drift signals still open."""
    figures = []
    zone = organization.zone
    start = local_midnight(week_start, zone)
    end = local_midnight(week_end + timedelta(days=1), zone)
    records = AuditRecord.objects.filter(
        sample__site=site, audited_at__gte=start, audited_at__lt=end
    ).values_list(*AuditRecord.QUESTIONS)
    failed = {question: 0 for question in AuditRecord.QUESTIONS}
    audited = 0
    for answers in records:
        audited += 1
        for question, answer in zip(AuditRecord.QUESTIONS, answers, strict=True):
            failed[question] += answer == AuditRecord.Answer.NO
    labels = {
        "documentation_complete": "Documentation complete",
        "steps_evidenced": "Steps evidenced",
        "escalation_appropriate": "Escalation appropriate",
    }
    audits_url = org_path(organization, "assurance_audit_list", query={"site": site.code})
    if audited:
        for question in AuditRecord.QUESTIONS:
            figures.append(
                SiteFigure(
                    topic="Failed audit answers",
                    label=f"{labels[question]}: answered no (of {audited} records audited)",
                    value=failed[question],
                    url=audits_url,
                )
            )
    open_signals = (
        DriftSignal.objects.filter(
            site=site, status__in=(DriftSignal.Status.OPEN, DriftSignal.Status.RESPONDING)
        )
        .select_related("site")
        .order_by("-month")
    )
    for signal in open_signals:
        figures.append(
            SiteFigure(
                topic="Open drift signals",
                label=drift_label(signal),
                value=f"{signal.value:.0f}% against {signal.reference:.0f}%",
                url=org_path(organization, "assurance_drift_detail", pk=signal.pk),
            )
        )
    return figures
