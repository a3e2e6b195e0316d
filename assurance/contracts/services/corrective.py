"""Corrective-action clauses: a term breached for the clause's run of months opens a joint
improvement process (and its improvement action through the learning app's provider)."""

import logging
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Q
from django.utils import timezone

from assurance.contracts.models import (
    Contract,
    ContractSite,
    CorrectiveClause,
    CorrectiveProcess,
    TermEvaluation,
)
from assurance.contracts.services.editing import history_record
from assurance.models import MetricDefinition
from assurance.services.metrics import month_add
from assurance.services.records import improvement_action_providers, improvement_action_raise
from scaling_ops.models import Organization

logger = logging.getLogger(__name__)


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
    history_record(process, by=None, reason=f"triggered by clause {clause.clause}")
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
    history_record(
        process, by=by, reason="closed" if process.closed_at and was != status else "updated"
    )
    process.save()
    return process
