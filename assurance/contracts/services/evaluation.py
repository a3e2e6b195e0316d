"""The monthly evaluation of performance terms from the stored snapshots. Runs after each
``assurance_snapshot_compute`` (an extension point of snapshots.py), from ``manage.py
evaluate_contracts`` and from the contract page's Re-evaluate button. It reads the current
revision of each covered site's snapshot: one query for the figures of every term, site and month
pooled, however many contracts there are."""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone

from assurance import analysis
from assurance.contracts.models import (
    Contract,
    TermEvaluation,
)
from assurance.contracts.services.corrective import corrective_clauses_check
from assurance.models import AssuranceSnapshot, MetricDefinition, SnapshotValue
from assurance.services.metrics import month_add, month_window
from scaling_ops import tenancy
from scaling_ops.models import Organization


def term_status(*, value: float | None, target: float, threshold: float, direction: str) -> str:
    status = analysis.status_against(
        value,
        target=target,
        threshold=threshold,
        higher_is_better=direction != MetricDefinition.Direction.LOWER,
    )
    return TermEvaluation.Status.NO_DATA if status is None else TermEvaluation.Status(status)


def _current_snapshots(months: list[date], site_ids: set[int]) -> dict[tuple[int, date], tuple]:
    """(site, month) -> (snapshot id, revision, partial) of the latest revision."""
    from assurance.selectors import current_snapshot_ids

    return {
        (site_id, month): (pk, revision, partial)
        for pk, site_id, month, revision, partial in AssuranceSnapshot.objects.filter(
            pk__in=current_snapshot_ids(months=months, site_ids=list(site_ids))
        ).values_list("pk", "site_id", "month", "revision", "partial")
    }


def contract_terms_evaluate(
    *, organization: Organization, month: date, now: datetime | None = None
) -> list[TermEvaluation]:
    """Each term of each contract in force in the month, at each covered site: the status from
    the current snapshots, pooled over the term's evaluation period, against the target and
    threshold of the site's phase. Then the corrective-action clauses are checked."""
    tenancy.refuse_another_organization(
        organization.pk, doing=f"evaluate organisation {organization.pk}'s contracts"
    )
    month = month.replace(day=1)
    now = now or timezone.now()
    with tenancy.scope(organization):
        contracts = list(
            Contract.objects.filter(period_start__lt=month_add(month, 1), period_end__gte=month)
            .prefetch_related("sites__site", "terms__metric")
            .order_by("reference")
        )
        pairs = [
            (cs, term) for contract in contracts for cs in contract.sites.all()
            for term in contract.terms.all()
        ]  # fmt: skip
        if not pairs:
            return []
        span = max(term.evaluation_months for _, term in pairs)
        months = [month_add(month, -k) for k in range(span)]
        site_ids = {cs.site_id for cs, _ in pairs}
        snapshots = _current_snapshots(months, site_ids)
        figures = {
            (site_id, m, measure, step): (numerator, denominator)
            for site_id, m, measure, step, numerator, denominator in SnapshotValue.objects.filter(
                snapshot_id__in=[pk for pk, _, _ in snapshots.values()],
                dimension="all",
                segment="all",
                measure__in={term.metric.code for _, term in pairs},
                step__in={term.step for _, term in pairs},
            ).values_list(
                "snapshot__site_id", "snapshot__month", "measure", "step", "numerator",
                "denominator",
            )
        }  # fmt: skip
        existing = {
            (e.term_id, e.site_id): e
            for e in TermEvaluation.objects.filter(
                month=month, term_id__in={t.pk for _, t in pairs}
            )
        }
        running = month_window(organization=organization, month=month)[1] > now
        created, updated = [], []
        for cs, term in pairs:
            evaluation = existing.get((term.pk, cs.site_id)) or TermEvaluation(
                organization_id=organization.pk, term=term, site_id=cs.site_id, month=month
            )
            _fill(evaluation, cs=cs, term=term, months=months, snapshots=snapshots,
                  figures=figures, running=running, now=now)  # fmt: skip
            (updated if evaluation.pk else created).append(evaluation)
        with transaction.atomic():
            TermEvaluation.objects.bulk_create(created)
            TermEvaluation.objects.bulk_update(
                updated,
                ["phase", "target", "threshold", "numerator", "denominator", "value", "status",
                 "partial", "evidence", "evaluated_at"],
            )  # fmt: skip
            corrective_clauses_check(
                organization=organization, month=month, contracts=contracts, now=now
            )
    return created + updated


def _fill(evaluation, *, cs, term, months, snapshots, figures, running, now) -> None:
    phase = cs.phase_for(evaluation.month)
    target, threshold = term.target_for(phase)
    window = months[: term.evaluation_months]
    evidence, numerator, denominator = [], 0.0, 0.0
    own = snapshots.get((cs.site_id, evaluation.month))
    for m in window:
        snapshot = snapshots.get((cs.site_id, m))
        if snapshot is None:
            continue
        num, den = figures.get((cs.site_id, m, term.metric.code, term.step), (None, None))
        evidence.append(
            {
                "month": m.strftime("%Y-%m"),
                "snapshot_id": snapshot[0],
                "revision": snapshot[1],
                "partial": snapshot[2],
                "numerator": num,
                "denominator": den,
            }
        )
        numerator += num or 0.0
        denominator += den or 0.0
    counted = any(item["numerator"] is not None for item in evidence)
    if own is None or not counted:
        value, numerator_out, denominator_out = None, None, None
    elif term.metric.unit == MetricDefinition.Unit.COUNT:
        value, numerator_out, denominator_out = numerator, numerator, None
    else:
        value = analysis.rate(numerator, denominator)
        numerator_out, denominator_out = numerator, denominator
    evaluation.phase, evaluation.target, evaluation.threshold = phase, target, threshold
    evaluation.numerator, evaluation.denominator, evaluation.value = (
        numerator_out,
        denominator_out,
        value,
    )
    # A month still running (its snapshot computed to date, or the organisation-local month not
    # yet ended) gets no verdict: a figure one day old would read as a breach.
    evaluation.partial = bool(own and own[2]) or running
    if evaluation.partial:
        evaluation.status = TermEvaluation.Status.IN_PROGRESS
    else:
        evaluation.status = term_status(
            value=value, target=target, threshold=threshold, direction=term.metric.direction
        )
    evaluation.evidence = evidence
    evaluation.evaluated_at = now


# --- corrective-action clauses ---------------------------------------------------------------


def contracts_after_snapshot(*, organization: Organization, month: date, snapshots, now) -> None:
    """The snapshot hook: a newly computed month is evaluated against every contract at once."""
    contract_terms_evaluate(organization=organization, month=month, now=now)


def contracts_evaluate_all(
    *, organization: Organization, now: datetime | None = None
) -> list[date]:
    """Every month with a snapshot, oldest first (so breach runs trigger in order)."""
    with tenancy.scope(organization):
        months = sorted(set(AssuranceSnapshot.objects.values_list("month", flat=True)))
    for month in months:
        contract_terms_evaluate(organization=organization, month=month, now=now)
    return months
