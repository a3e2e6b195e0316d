"""Safeguarding in contracts (README "The front door"): a performance term on safeguarding
response timeliness is evaluated from the snapshots and its corrective clause opens a process
after its run of breaches; safeguarding incidents are their own category and count."""

from datetime import UTC, date, datetime

from assurance.contracts.models import CorrectiveProcess, TermEvaluation
from assurance.contracts.services import (
    contract_terms_evaluate,
    corrective_clause_save,
    performance_term_save,
)
from assurance.front_door import safeguarding_incident_figures
from assurance.models import Incident
from assurance.services import metric_definitions_ensure
from assurance.services.records import incident_create
from tests.assurance.contract_helpers import NOW, make_contract, snapshot

JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def test_a_safeguarding_term_and_its_corrective_clause(personas, tenant):
    contract, _, _ = make_contract(personas, mature_from={"north": JAN})
    metrics = metric_definitions_ensure()
    term = performance_term_save(
        contract=contract,
        by=None,
        clause="6.1",
        metric=metrics["safeguarding_response_timeliness"],
        implementation_target=95.0,
        implementation_threshold=90.0,
        mature_target=100.0,
        mature_threshold=95.0,
    )
    corrective_clause_save(
        contract=contract,
        by=None,
        clause="7.2",
        term=term,
        consecutive_breaches=2,
        response_days=7,
        owner=personas.lead,
    )
    for month in (JAN, FEB):
        snapshot(
            personas.north,
            month,
            {"timeliness": (95, 100), "safeguarding_response_timeliness": (3, 4)},
        )
        contract_terms_evaluate(organization=personas.org, month=month, now=NOW)
    evaluation = TermEvaluation.objects.get(term=term, site=personas.north, month=FEB)
    assert evaluation.status == TermEvaluation.Status.BREACHED
    assert evaluation.value == 75.0
    assert CorrectiveProcess.objects.filter(term=term).count() == 1


def test_safeguarding_incidents_are_a_category_counted_per_site(personas, tenant):
    when = datetime(2026, 3, 3, 10, tzinfo=UTC)
    for category in ("safeguarding", "safeguarding", "general"):
        incident_create(
            site=personas.north,
            kind="incident",
            category=category,
            severity="low",
            occurred_at=when,
            summary="Concern not passed on",
            failed_steps=[],
        )
    assert Incident.objects.filter(category="safeguarding").count() == 2
    assert safeguarding_incident_figures(
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    ) == [(personas.north.pk, "safeguarding_incidents", "", "all", "all", 2, None)]
