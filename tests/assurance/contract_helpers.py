"""Builders for the contract tests: a contract on the shared metric definitions, and snapshots
written directly as rows (the figures a computed month would hold)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from assurance.contracts.services import (
    contract_save,
    contract_site_save,
    corrective_clause_save,
    payment_band_save,
    performance_term_save,
    protected_component_save,
)
from assurance.models import AssuranceSnapshot, SnapshotValue
from assurance.services import metric_definitions_ensure
from pathways.models import Pathway

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)


def snapshot(
    site, month: date, figures: dict, *, partial: bool = False, revision: int = 1, cutoff=NOW
):
    """``figures``: measure -> (numerator, denominator); overall figures of the site."""
    snap = AssuranceSnapshot(
        site=site,
        month=month,
        revision=revision,
        computed_at=NOW,
        cutoff=cutoff,
        partial=partial,
    )
    snap.save()
    for measure, (numerator, denominator) in figures.items():
        SnapshotValue(
            snapshot=snap,
            measure=measure,
            step="",
            dimension="all",
            segment="all",
            numerator=numerator,
            denominator=denominator,
            value=None if not denominator else 100.0 * numerator / denominator,
        ).save()
    return snap


def make_contract(
    personas,
    *,
    reference="county-a",
    sites=None,
    mature_from=None,
    pathways=None,
    commissioners=None,
    period=(date(2026, 1, 1), date(2026, 12, 31)),
    breaches=None,
    by=None,
):
    """A contract covering ``sites`` (default north) with a timeliness term: implementation
    target 80 / threshold 60, mature 90 / 75; optionally a corrective clause after ``breaches``
    consecutive breaches."""
    metrics = metric_definitions_ensure()
    contract = contract_save(
        by=by,
        reference=reference,
        name=f"Contract {reference}",
        commissioner_name="County council",
        county="County A",
        period_start=period[0],
        period_end=period[1],
        pathways=pathways or list(Pathway.objects.all()) or [_pathway()],
        commissioners=commissioners if commissioners is not None else [personas.commissioner],
    )
    for site in sites or [personas.north]:
        contract_site_save(
            contract=contract,
            by=by,
            site=site,
            mature_from=(mature_from or {}).get(site.code),
        )
    term = performance_term_save(
        contract=contract,
        by=by,
        clause="5.1",
        metric=metrics["timeliness"],
        implementation_target=80.0,
        implementation_threshold=60.0,
        mature_target=90.0,
        mature_threshold=75.0,
    )
    clause = None
    if breaches:
        clause = corrective_clause_save(
            contract=contract,
            by=by,
            clause="7.1",
            term=term,
            consecutive_breaches=breaches,
            response_days=30,
            owner=personas.lead,
        )
    return contract, term, clause


def _pathway():
    return Pathway.objects.create(slug="plain", name="Plain pathway")


def bands(contract, by=None):
    for order, (name, activity, tier, rate) in enumerate(
        [
            ("Low", "referrals", "low", "100.00"),
            ("Medium", "referrals", "medium", "200.00"),
            ("High", "referrals", "high", "400.00"),
            ("Active", "active_cases", "", "10.00"),
        ]
    ):
        payment_band_save(
            contract=contract,
            by=by,
            name=name,
            activity=activity,
            risk_tier=tier,
            unit_rate=Decimal(rate),
            order=order,
        )


def protect(contract, pathway, step_key, clause="4.2"):
    return protected_component_save(
        contract=contract,
        by=None,
        clause=clause,
        pathway=pathway,
        step_key=step_key,
        standard="reconciled before the first visit",
    )
