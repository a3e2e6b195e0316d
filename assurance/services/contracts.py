"""Contracts (issue 6): writes for contracts and their parts, the protected-core guards that the
pathways app consults, the monthly evaluation of performance terms from the stored snapshots,
and the corrective-action clauses that open a joint improvement process.

Evaluation runs after each ``assurance_snapshot_compute`` (a hook in snapshots.py), from
``manage.py evaluate_contracts`` and from the contract page's Re-evaluate button. It reads the
current revision of each covered site's snapshot: one query for the figures of every term, site
and month pooled, however many contracts there are."""

import logging
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from assurance import analysis
from assurance.models import (
    AssuranceSnapshot,
    Contract,
    ContractSite,
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    MetricDefinition,
    PaymentBand,
    PerformanceTerm,
    ProtectedComponent,
    SnapshotValue,
    TermEvaluation,
)
from assurance.services.metrics import month_add
from assurance.services.records import improvement_action_providers, improvement_action_raise
from pathways.models import Pathway, PathwayVersion, Step
from scaling_ops import tenancy
from scaling_ops.models import Organization, Site

logger = logging.getLogger(__name__)


def _record(instance, *, by, reason: str) -> None:
    if by is not None:
        instance._history_user = by
    instance._change_reason = reason


def _store(instance, *, by, reason: str, duplicate: str) -> None:
    """Validates the row (its own rules and field limits), then saves it; a unique-constraint
    clash becomes a message saying what already exists."""
    instance.full_clean(exclude=["organization", "contract"], validate_constraints=False)
    _record(instance, by=by, reason=reason)
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError(duplicate) from None


# --- contracts and their parts --------------------------------------------------------------


def contract_save(
    *,
    by,
    contract: Contract | None = None,
    reference: str,
    name: str,
    commissioner_name: str,
    county: str = "",
    period_start: date,
    period_end: date,
    pathways: list[Pathway],
    commissioners: list = (),
    notes: str = "",
) -> Contract:
    if period_end < period_start:
        raise ValidationError({"period_end": "The period must end on or after its start."})
    if not pathways:
        raise ValidationError({"pathways": "Name at least one pathway the contract covers."})
    creating = contract is None
    contract = contract or Contract()
    contract.reference = reference.strip()
    contract.name = name.strip()
    contract.commissioner_name = commissioner_name.strip()
    contract.county = county.strip()
    contract.period_start, contract.period_end = period_start, period_end
    contract.notes = notes.strip()
    people = sorted(u.get_username() for u in commissioners)
    reason = "created" if creating else "edited"
    reason += (
        f"; pathways: {', '.join(sorted(p.slug for p in pathways))}; commissioners: "
        f"{', '.join(people) or 'none'}"
    )
    with transaction.atomic():
        _store(
            contract,
            by=by,
            reason=reason[:100],
            duplicate=f"A contract with reference {contract.reference!r} exists already.",
        )
        contract.pathways.set(pathways)
        contract.commissioners.set(commissioners)
    return contract


def contract_site_save(
    *, contract: Contract, by, site: Site, mature_from: date | None, row: ContractSite | None = None
) -> ContractSite:
    row = row or ContractSite(contract=contract)
    if row.contract_id != contract.pk:
        raise ValidationError("That site row belongs to another contract.")
    was = row.mature_from if row.pk else "new"
    row.site, row.mature_from = site, mature_from
    phase = f"mature from {mature_from:%Y-%m-%d}" if mature_from else "implementation"
    _store(
        row,
        by=by,
        reason=f"{site.code}: {phase} (was {was or 'implementation'})"[:100],
        duplicate=f"{site.name} is covered by this contract already; edit its phase instead.",
    )
    return row


def funded_component_save(
    *,
    contract: Contract,
    by,
    kind: str,
    monthly_amount,
    description: str = "",
    row: FundedComponent | None = None,
) -> FundedComponent:
    row = row or FundedComponent(contract=contract)
    row.kind, row.monthly_amount, row.description = kind, monthly_amount, description.strip()
    _store(
        row,
        by=by,
        reason="funded component saved",
        duplicate="That component is funded already; edit its amount instead.",
    )
    return row


def _step_keys(pathway: Pathway) -> set[str]:
    return set(
        Step.objects.filter(version__pathway=pathway)
        .exclude(version__status=PathwayVersion.Status.DRAFT)
        .values_list("key", flat=True)
    )


def protected_component_save(
    *,
    contract: Contract,
    by,
    clause: str,
    pathway: Pathway,
    step_key: str,
    standard: str = "",
    row: ProtectedComponent | None = None,
) -> ProtectedComponent:
    if not contract.pathways.filter(pk=pathway.pk).exists():
        raise ValidationError({"pathway": f"{pathway.name} is not one of the contract's pathways."})
    keys = _step_keys(pathway)
    if step_key not in keys:
        raise ValidationError(
            {
                "step_key": f"{pathway.name} has no step {step_key!r}; its steps are "
                f"{', '.join(sorted(keys)) or 'none yet (activate a version)'}."
            }
        )
    row = row or ProtectedComponent(contract=contract)
    row.clause, row.pathway, row.step_key = clause.strip(), pathway, step_key
    row.standard = standard.strip()
    _store(
        row,
        by=by,
        reason=f"protected core: {pathway.slug}/{step_key}",
        duplicate=f"{pathway.name} step {step_key!r} is protected already.",
    )
    return row


def check_term_targets(
    *, metric: MetricDefinition, values: dict[str, float], prefix: str = ""
) -> None:
    """The threshold lies beyond the target in the measure's bad direction."""
    errors = {}
    for phase in ("implementation", "mature"):
        target, threshold = values[f"{phase}_target"], values[f"{phase}_threshold"]
        if metric.direction == MetricDefinition.Direction.HIGHER and threshold > target:
            errors[f"{phase}_threshold"] = (
                f"{metric.name} is better when higher: the breach threshold ({threshold:g}) must "
                f"be at or below the target ({target:g})."
            )
        if metric.direction == MetricDefinition.Direction.LOWER and threshold < target:
            errors[f"{phase}_threshold"] = (
                f"{metric.name} is better when lower: the breach threshold ({threshold:g}) must "
                f"be at or above the target ({target:g})."
            )
    if errors:
        raise ValidationError(errors)


def performance_term_save(
    *,
    contract: Contract,
    by,
    clause: str,
    metric: MetricDefinition,
    step: str = "",
    implementation_target: float,
    implementation_threshold: float,
    mature_target: float,
    mature_threshold: float,
    evaluation_months: int = 1,
    row: PerformanceTerm | None = None,
) -> PerformanceTerm:
    targets = {
        "implementation_target": implementation_target,
        "implementation_threshold": implementation_threshold,
        "mature_target": mature_target,
        "mature_threshold": mature_threshold,
    }
    check_term_targets(metric=metric, values=targets)
    row = row or PerformanceTerm(contract=contract)
    row.clause, row.metric, row.step = clause.strip(), metric, step.strip()
    row.evaluation_months = evaluation_months
    for name, value in targets.items():
        setattr(row, name, value)
    _store(
        row,
        by=by,
        reason=f"term {row.clause}: {metric.code} impl {implementation_target:g}/"
        f"{implementation_threshold:g}, mature {mature_target:g}/{mature_threshold:g}"[:100],
        duplicate=f"Clause {row.clause} is used by another term of this contract.",
    )
    return row


def payment_band_save(
    *,
    contract: Contract,
    by,
    name: str,
    activity: str,
    risk_tier: str,
    unit_rate,
    order: int = 0,
    row: PaymentBand | None = None,
) -> PaymentBand:
    row = row or PaymentBand(contract=contract)
    row.name, row.activity, row.risk_tier = name.strip(), activity, risk_tier
    row.unit_rate, row.order = unit_rate, order
    _store(
        row,
        by=by,
        reason=f"band {row.name}: {unit_rate} per unit",
        duplicate=f"A band named {row.name!r} exists already.",
    )
    return row


def corrective_clause_save(
    *,
    contract: Contract,
    by,
    clause: str,
    term: PerformanceTerm,
    consecutive_breaches: int,
    response_days: int,
    owner=None,
    description: str = "",
    row: CorrectiveClause | None = None,
) -> CorrectiveClause:
    if term.contract_id != contract.pk:
        raise ValidationError({"term": "Choose a performance term of this contract."})
    row = row or CorrectiveClause(contract=contract)
    row.clause, row.term, row.owner = clause.strip(), term, owner
    row.consecutive_breaches, row.response_days = consecutive_breaches, response_days
    row.description = description.strip()
    _store(
        row,
        by=by,
        reason=f"clause {row.clause}: {consecutive_breaches} breaches -> joint improvement",
        duplicate=f"Clause {row.clause} exists already.",
    )
    return row


PART_MODELS = {
    "site": ContractSite,
    "component": FundedComponent,
    "protected": ProtectedComponent,
    "term": PerformanceTerm,
    "band": PaymentBand,
    "clause": CorrectiveClause,
}


def contract_part_delete(*, part, by) -> None:
    """Removes a part; its history keeps what it was and who removed it."""
    if isinstance(part, PerformanceTerm) and part.clauses.exists():
        raise ValidationError("A corrective-action clause uses this term; remove the clause first.")
    if isinstance(part, ContractSite):
        open_processes = CorrectiveProcess.objects.filter(
            contract_id=part.contract_id, site_id=part.site_id, status=CorrectiveProcess.Status.OPEN
        )
        if open_processes.exists():
            raise ValidationError(
                f"{part.site.name} has an open joint improvement process under this contract; "
                "close it before the site leaves the contract."
            )
    _record(part, by=by, reason="removed")
    part.delete()


# --- protected core: guards registered with the pathways app ---------------------------------


def _today(organization_id: int) -> date:
    organization = Organization.objects.get(pk=organization_id)
    return timezone.localdate(timezone=organization.zone)


def contract_adaptation_guard(site: Site, pathway: Pathway, step_key: str) -> list[str]:
    """Refuses an adaptation of a protected step at a site a contract in force covers."""
    today = _today(site.organization_id)
    rows = (
        ProtectedComponent.objects.filter(
            pathway=pathway,
            step_key=step_key,
            contract__sites__site=site,
            contract__period_start__lte=today,
            contract__period_end__gte=today,
        )
        .select_related("contract")
        .order_by("contract__reference", "clause")
    )
    return [
        f"Refused by contract {row.contract.name}, clause {row.clause}: step {step_key!r} of "
        f"{pathway.name} is protected core at {site.name}"
        + (f" ({row.standard})" if row.standard else "")
        + " and cannot be traded away while the contract is in force "
        f"(until {row.contract.period_end:%Y-%m-%d})."
        for row in rows
    ]


def contract_retire_guard(version: PathwayVersion) -> list[str]:
    """Refuses retiring the active version that holds a protected step: the covered sites would
    have no version of the pathway to refer on. Activating a newer version is the way to
    change it (that retires this one as part of a controlled change)."""
    if version.status != PathwayVersion.Status.ACTIVE:
        return []
    today = _today(version.organization_id)
    keys = set(version.steps.values_list("key", flat=True))
    rows = (
        ProtectedComponent.objects.filter(
            pathway_id=version.pathway_id,
            step_key__in=keys,
            contract__period_start__lte=today,
            contract__period_end__gte=today,
        )
        .select_related("contract")
        .order_by("contract__reference", "clause")
    )
    sites = _covered_site_names([row.contract_id for row in rows])
    return [
        f"Refused by contract {row.contract.name}, clause {row.clause}: step {row.step_key!r} "
        f"of {version.pathway.name} is protected core at "
        f"{', '.join(sites.get(row.contract_id, [])) or 'its sites'}; retiring v{version.number} "
        "would take it out of use. Activate a new version that keeps the step instead."
        for row in rows
    ]


def _covered_site_names(contract_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for contract_id, name in (
        ContractSite.objects.filter(contract_id__in=contract_ids)
        .order_by("site__code")
        .values_list("contract_id", "site__name")
    ):
        names.setdefault(contract_id, []).append(name)
    return names


# --- monthly evaluation of terms ---------------------------------------------------------------


def term_status(*, value: float | None, target: float, threshold: float, direction: str) -> str:
    if value is None:
        return TermEvaluation.Status.NO_DATA
    if direction == MetricDefinition.Direction.LOWER:
        if value <= target:
            return TermEvaluation.Status.MET
        return (
            TermEvaluation.Status.AT_RISK if value <= threshold else TermEvaluation.Status.BREACHED
        )
    if value >= target:
        return TermEvaluation.Status.MET
    return TermEvaluation.Status.AT_RISK if value >= threshold else TermEvaluation.Status.BREACHED


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
        created, updated = [], []
        for cs, term in pairs:
            evaluation = existing.get((term.pk, cs.site_id)) or TermEvaluation(
                organization_id=organization.pk, term=term, site_id=cs.site_id, month=month
            )
            _fill(evaluation, cs=cs, term=term, months=months, snapshots=snapshots,
                  figures=figures, now=now)  # fmt: skip
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


def _fill(evaluation, *, cs, term, months, snapshots, figures, now) -> None:
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
    evaluation.status = term_status(
        value=value, target=target, threshold=threshold, direction=term.metric.direction
    )
    evaluation.partial = bool(own and own[2])
    evaluation.evidence = evidence
    evaluation.evaluated_at = now


# --- corrective-action clauses ---------------------------------------------------------------


def corrective_clauses_check(
    *, organization: Organization, month: date, contracts: list[Contract], now: datetime
) -> list[CorrectiveProcess]:
    """Opens a joint improvement process where a clause's term was breached at a site in each
    of the N complete months ending with ``month``. Never while one is open for the clause and
    site, and never again on months that already triggered one."""
    clauses = list(
        CorrectiveClause.objects.filter(contract__in=contracts).select_related(
            "contract", "term__metric", "owner"
        )
    )
    if not clauses:
        return []
    span = max(c.consecutive_breaches for c in clauses)
    months = [month_add(month, -k) for k in range(span)]
    evaluations = {
        (e.term_id, e.site_id, e.month): e
        for e in TermEvaluation.objects.filter(
            term_id__in={c.term_id for c in clauses}, month__in=months
        ).select_related("site")
    }
    history = {
        (row["clause_id"], row["site_id"]): row
        for row in CorrectiveProcess.objects.filter(clause__in=clauses)
        .values("clause_id", "site_id")
        .annotate(
            last=Max("trigger_month"),
            open=Count("id", filter=Q(status=CorrectiveProcess.Status.OPEN)),
        )
    }
    covered = {}
    for contract_id, site_id in ContractSite.objects.filter(contract__in=contracts).values_list(
        "contract_id", "site_id"
    ):
        covered.setdefault(contract_id, []).append(site_id)
    opened = []
    for clause in clauses:
        run = months[: clause.consecutive_breaches]
        for site_id in covered.get(clause.contract_id, []):
            rows = [evaluations.get((clause.term_id, site_id, m)) for m in run]
            if not all(
                row is not None and row.status == TermEvaluation.Status.BREACHED and not row.partial
                for row in rows
            ):
                continue
            past = history.get((clause.pk, site_id))
            if past and (past["open"] or past["last"] >= run[-1]):
                continue
            opened.append(_open_process(clause=clause, rows=rows, month=month, now=now))
    return opened


def _open_process(*, clause: CorrectiveClause, rows: list[TermEvaluation], month, now):
    term, site = clause.term, rows[0].site
    unit = "%" if term.metric.unit == MetricDefinition.Unit.PERCENT else ""
    step = f" ({term.step})" if term.step else ""
    figures = ", ".join(f"{row.month:%Y-%m} {row.value:.1f}{unit}" for row in reversed(rows))
    trigger = (
        f"{term.metric.name}{step} breached {clause.consecutive_breaches} consecutive month(s) "
        f"at {site.name} ({figures}; threshold {rows[0].threshold:g}{unit}, "
        f"{rows[0].get_phase_display().lower()} phase)"
    )
    process = CorrectiveProcess(
        contract=clause.contract,
        clause=clause,
        term=term,
        site=site,
        trigger_month=month,
        trigger=trigger[:300],
        evidence=[
            {
                "month": row.month.strftime("%Y-%m"),
                "phase": row.phase,
                "target": row.target,
                "threshold": row.threshold,
                "numerator": row.numerator,
                "denominator": row.denominator,
                "value": row.value,
                "status": row.status,
                "snapshots": row.evidence,
            }
            for row in reversed(rows)
        ],
        triggered_at=now,
        owner=clause.owner,
        deadline=timezone.localdate(now, site.organization.zone)
        + timedelta(days=clause.response_days),
    )
    _record(process, by=None, reason=f"triggered by clause {clause.clause}")
    process.save()
    if improvement_action_providers.providers():
        # The learning app's improvement log holds the action; the process keeps its reference.
        try:
            improvement_action_raise(source=process, by=clause.owner)
        except ValidationError as error:
            logger.warning("improvement action not raised for %s: %s", process, error.messages)
    return process


def corrective_process_update(
    *,
    process: CorrectiveProcess,
    by,
    status: str,
    progress: str,
    owner=None,
    deadline: date | None = None,
    improvement_action_ref: str | None = None,
) -> CorrectiveProcess:
    if status not in CorrectiveProcess.Status.values:
        raise ValidationError({"status": "Choose open or closed."})
    if status == CorrectiveProcess.Status.CLOSED and not progress.strip():
        raise ValidationError(
            {"progress": "Say what the joint process agreed and achieved before closing it."}
        )
    if (
        status == CorrectiveProcess.Status.OPEN
        and process.status == CorrectiveProcess.Status.CLOSED
    ):
        raise ValidationError(
            {"status": "A closed process stays closed; the clause opens a new one if the breach "
             "continues."}
        )  # fmt: skip
    was = process.status
    process.status, process.progress = status, progress.strip()
    process.owner = owner
    if deadline is not None:
        process.deadline = deadline
    if improvement_action_ref is not None:
        process.improvement_action_ref = improvement_action_ref.strip()[:100]
    if status == CorrectiveProcess.Status.CLOSED and was != status:
        process.closed_at = timezone.now()
    _record(process, by=by, reason="closed" if process.closed_at and was != status else "updated")
    process.save()
    return process


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
