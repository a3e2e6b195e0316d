"""Drift signals: raised (or withdrawn) when a month's snapshots are written, reviewed when the
re-audit month is computed, and answered by people with the standard response."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError

from assurance import analysis
from assurance.models import AssuranceSettings, AssuranceSnapshot, DriftSignal, SnapshotValue
from assurance.selectors import current_snapshot_ids
from assurance.services.drift_response import (
    drift_response_open,
    drift_response_parts,
    drift_response_ran,
)
from assurance.services.metrics import PROCESS_MEASURES, month_add

BASELINE_MONTHS = 3
STANDARD_RESPONSE = (
    "Targeted coaching for the practitioners and steps behind the drop",
    "Extra supervision until the re-audit",
    "A re-audit window with a date: the month's figures are checked again after it",
)


def _reaudit_month(signal: DriftSignal) -> date:
    return signal.reaudit_until.replace(day=1)


def drift_signals_update(
    *,
    month: date,
    snapshots: list[AssuranceSnapshot],
    settings: AssuranceSettings,
    now: datetime,
) -> list[DriftSignal]:
    """Raises a signal per (site, process measure, basis) below the network median or the site's
    own 3-month baseline by more than the margin (complete months only); withdraws this month's signals a recompute no
    longer supports; records the re-audit figure of signals whose window ends in ``month``."""
    by_site = {snapshot.site_id: snapshot for snapshot in snapshots}
    # Only a whole month can drift: a month still running has figures that move every day, so
    # its snapshots raise nothing (they still give a re-audit its interim figure, below).
    complete = {snapshot.site_id for snapshot in snapshots if not snapshot.partial}
    current: dict[str, dict[int, tuple[float, float]]] = defaultdict(dict)
    for site_id, measure, num, den in SnapshotValue.objects.filter(
        snapshot__in=snapshots, measure__in=PROCESS_MEASURES, step="", dimension="all"
    ).values_list("snapshot__site_id", "measure", "numerator", "denominator"):
        current[measure][site_id] = (num or 0.0, den or 0.0)
    previous_months = [month_add(month, -offset) for offset in range(BASELINE_MONTHS, 0, -1)]
    history: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for site_id, measure, num, den in (
        SnapshotValue.objects.filter(
            snapshot_id__in=current_snapshot_ids(months=previous_months, site_ids=list(by_site)),
            measure__in=PROCESS_MEASURES,
            step="",
            dimension="all",
        )
        .order_by("snapshot__month")
        .values_list("snapshot__site_id", "measure", "numerator", "denominator")
    ):
        history[measure][site_id].append((num or 0.0, den or 0.0))

    found = {}
    for measure in PROCESS_MEASURES:
        for finding in analysis.drift_findings(
            {site_id: pair for site_id, pair in current[measure].items() if site_id in complete},
            history[measure],
            margin=settings.drift_margin,
            min_denominator=settings.min_denominator,
            baseline_months=BASELINE_MONTHS,
        ):
            found[(finding.site_id, measure, finding.basis)] = finding

    existing = {
        (s.site_id, s.measure, s.basis): s
        for s in DriftSignal.objects.filter(month=month, site_id__in=list(by_site))
    }
    reaudit_from = month_add(month, 1)
    reaudit_until = reaudit_from + timedelta(days=settings.reaudit_window_days - 1)
    touched = []
    for key, finding in found.items():
        site_id, measure, basis = key
        signal = existing.get(key)
        if signal is None:
            signal = DriftSignal(
                site_id=site_id,
                month=month,
                measure=measure,
                basis=basis,
                raised_at=now,
                reaudit_from=reaudit_from,
                reaudit_until=reaudit_until,
            )
            signal._change_reason = "Raised by the monthly snapshot"
        else:
            signal._change_reason = f"Recomputed (revision {by_site[site_id].revision})"
            if signal.status == DriftSignal.Status.WITHDRAWN:
                signal.status = DriftSignal.Status.OPEN
        signal.value = finding.value
        signal.reference = finding.reference
        signal.denominator = finding.denominator
        signal.margin = settings.drift_margin
        signal.snapshot = by_site[site_id]
        opened = signal.pk is None
        signal.save()
        if opened:
            drift_response_open(signal=signal)
        touched.append(signal)
    for key, signal in existing.items():
        if key in found or signal.status == DriftSignal.Status.WITHDRAWN:
            continue
        signal.status = DriftSignal.Status.WITHDRAWN
        signal._change_reason = (
            f"Revision {by_site[key[0]].revision} of the month no longer shows this drift"
        )
        signal.save(update_fields=["status", "updated_at"])
    _review_reaudits(month, by_site, current)
    return touched


def _review_reaudits(month, by_site, current) -> None:
    """Signals whose re-audit window ends in ``month``: the site's figure this month, and on a
    whole month the verdict (back within the margin of the reference it fell below)."""
    window_start = month
    window_end = month_add(month, 1) - timedelta(days=1)
    signals = DriftSignal.objects.filter(
        site_id__in=list(by_site),
        reaudit_until__gte=window_start,
        reaudit_until__lte=window_end,
    ).exclude(status=DriftSignal.Status.WITHDRAWN)
    for signal in signals:
        snapshot = by_site[signal.site_id]
        num, den = current[signal.measure].get(signal.site_id, (0.0, 0.0))
        value = analysis.rate(num, den)
        signal.reaudit_value = value
        signal.reaudit_snapshot = snapshot
        ran = _judge(signal)
        signal._change_reason = f"Re-audit figure from {snapshot}" + (
            "" if ran else "; the verdict waits until the response has run"
        )
        signal.save(update_fields=["reaudit_value", "reaudit_snapshot", "recovery", "updated_at"])


def _judge(signal: DriftSignal) -> bool:
    """Sets the recovery verdict from the stored re-audit figure; whether the response ran.
    Recovery is judged only after the response ran: coaching held, extra supervision given,
    the re-audit sample drawn."""
    snapshot = signal.reaudit_snapshot
    verdict = analysis.recovered(signal.reaudit_value, signal.reference, signal.margin)
    ran = drift_response_ran(drift_response_parts(signal=signal))
    if snapshot.partial or verdict is None or not ran:
        signal.recovery = DriftSignal.Recovery.AWAITING
    elif verdict:
        signal.recovery = DriftSignal.Recovery.CONFIRMED
    else:
        signal.recovery = DriftSignal.Recovery.NOT_CONFIRMED
    return ran


def drift_recovery_rejudge(*, signal: DriftSignal) -> DriftSignal:
    """Judges an awaiting verdict again when a part of the response completes: at once, from
    the re-audit figure already stored, instead of at the next recompute of the re-audit
    month. Without a re-audit figure yet there is nothing to judge."""
    if (
        signal.reaudit_snapshot_id is None
        or signal.recovery != DriftSignal.Recovery.AWAITING
        or signal.status == DriftSignal.Status.WITHDRAWN
    ):
        return signal
    if _judge(signal) and signal.recovery != DriftSignal.Recovery.AWAITING:
        signal._change_reason = "Judged when the last part of the response completed"
        signal.save(update_fields=["recovery", "updated_at"])
    return signal


def on_drift_response_part_done(sender, *, source_key: str, site, **kwargs) -> None:
    """Receiver of ``pathways.extension_points.drift_response_part_done``."""
    prefix, _, pk = source_key.partition(":")
    if prefix != "drift_signal" or not pk.isdigit():
        return
    signal = (
        DriftSignal.objects.filter(pk=int(pk), site=site)
        .select_related("site__organization", "reaudit_snapshot")
        .first()
    )
    if signal is not None:
        drift_recovery_rejudge(signal=signal)


def drift_signal_respond(
    *,
    signal: DriftSignal,
    by,
    coaching: str,
    extra_supervision: str,
    reaudit_until: date | None = None,
    status: str | None = None,
    improvement_action_ref: str | None = None,
) -> DriftSignal:
    """Records the standard response to a signal: coaching, extra supervision, the re-audit date."""
    if signal.status == DriftSignal.Status.WITHDRAWN:
        raise ValidationError("This signal was withdrawn by a recompute; nothing to respond to.")
    if status is not None and status not in (
        DriftSignal.Status.OPEN,
        DriftSignal.Status.RESPONDING,
        DriftSignal.Status.CLOSED,
    ):
        raise ValidationError({"status": "Choose open, response under way or closed."})
    if reaudit_until is not None:
        if reaudit_until < signal.reaudit_from:
            raise ValidationError(
                {"reaudit_until": f"The re-audit window starts on {signal.reaudit_from}."}
            )
        signal.reaudit_until = reaudit_until
    if improvement_action_ref is not None:
        signal.improvement_action_ref = improvement_action_ref.strip()[:100]
    signal.coaching = coaching.strip()
    signal.extra_supervision = extra_supervision.strip()
    if status:
        signal.status = status
    elif signal.status == DriftSignal.Status.OPEN and (signal.coaching or signal.extra_supervision):
        signal.status = DriftSignal.Status.RESPONDING
    signal._history_user = by
    signal._change_reason = "Standard response recorded"
    signal.save()
    return signal
