"""Writes for contracts and their parts (sites, funded and protected components, terms, bands,
clauses), each kept in the contract's history with who changed it and why."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from assurance.contracts.models import (
    Contract,
    ContractSite,
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    PaymentBand,
    PerformanceTerm,
    ProtectedComponent,
)
from assurance.models import MetricDefinition
from pathways.models import Pathway, PathwayVersion, Step
from scaling_ops.models import Site


def history_record(instance, *, by, reason: str) -> None:
    if by is not None:
        instance._history_user = by
    instance._change_reason = reason


def _store(instance, *, by, reason: str, duplicate: str) -> None:
    """Validates the row (its own rules and field limits), then saves it; a unique-constraint
    clash becomes a message saying what already exists."""
    instance.full_clean(exclude=["organization", "contract"], validate_constraints=False)
    history_record(instance, by=by, reason=reason)
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
    history_record(part, by=by, reason="removed")
    part.delete()


# --- protected core: guards registered with the pathways app ---------------------------------
