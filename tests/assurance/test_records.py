"""Record audits (reproducible samples with the seed recorded) and incidents mapped to steps."""

import pytest
from django.core.exceptions import ValidationError

from assurance.models import AuditRecord, AuditSample, Incident
from assurance.services import (
    audit_population,
    audit_record_save,
    audit_sample_choose,
    audit_sample_draw,
    incident_create,
    incident_review,
)
from tests.assurance.helpers import APRIL_5, MONTH, case, march
from tests.pathways.exception_helpers import build_version


@pytest.fixture
def cases(personas, tenant):
    version = build_version()
    return [
        case(version, personas.north, f"N-{number:02d}", 1 + number % 27, "low")
        for number in range(20)
    ] + [case(version, personas.south, "S-01", 3, "low")]


def test_the_same_seed_draws_the_same_sample(personas, cases):
    first = audit_sample_draw(site=personas.north, month=MONTH, seed=12345, size=5, now=APRIL_5)
    chosen = list(first.records.order_by("position").values_list("case_id", flat=True))
    population = audit_population(site=personas.north, month=MONTH, now=APRIL_5)
    assert audit_sample_choose(population, 5, first.seed) == chosen
    assert first.seed == 12345
    assert first.population == 20


def test_a_different_seed_draws_a_different_sample(personas, cases):
    population = audit_population(site=personas.north, month=MONTH, now=APRIL_5)
    assert audit_sample_choose(population, 5, 1) != audit_sample_choose(population, 5, 2)


def test_a_sample_without_a_seed_gets_one_recorded(personas, cases):
    sample = audit_sample_draw(site=personas.north, month=MONTH, size=3, now=APRIL_5)
    assert sample.seed is not None
    population = audit_population(site=personas.north, month=MONTH, now=APRIL_5)
    assert audit_sample_choose(population, 3, sample.seed) == list(
        sample.records.order_by("position").values_list("case_id", flat=True)
    )


def test_the_sample_comes_only_from_the_site_and_month(personas, cases):
    sample = audit_sample_draw(site=personas.north, month=MONTH, seed=3, size=50, now=APRIL_5)
    refs = set(sample.records.values_list("case__external_ref", flat=True))
    assert len(refs) == 20
    assert "S-01" not in refs


def test_one_routine_sample_per_site_and_month(personas, cases):
    audit_sample_draw(site=personas.north, month=MONTH, seed=3, size=2, now=APRIL_5)
    with pytest.raises(ValidationError, match="already has"):
        audit_sample_draw(site=personas.north, month=MONTH, seed=4, size=2, now=APRIL_5)
    reaudit = audit_sample_draw(
        site=personas.north, month=MONTH, seed=4, size=2, kind=AuditSample.Kind.REAUDIT, now=APRIL_5
    )
    assert reaudit.kind == "reaudit"


def test_an_audit_answers_every_question(personas, cases):
    sample = audit_sample_draw(site=personas.north, month=MONTH, seed=3, size=1, now=APRIL_5)
    record = sample.records.get()
    with pytest.raises(ValidationError):
        audit_record_save(
            record=record,
            by=personas.supervisor,
            documentation_complete="yes",
            steps_evidenced="",
            escalation_appropriate="na",
        )
    audit_record_save(
        record=record,
        by=personas.supervisor,
        documentation_complete="yes",
        steps_evidenced="no",
        escalation_appropriate="na",
        notes="Visit note missing",
    )
    record = AuditRecord.objects.get(pk=record.pk)
    assert record.score == pytest.approx(50.0)
    assert record.auditor == personas.supervisor
    assert record.history.first().history_user == personas.supervisor


def test_an_incident_records_the_steps_where_it_failed(personas, cases):
    incident = incident_create(
        site=personas.north,
        kind="incident",
        severity="moderate",
        occurred_at=march(15),
        summary="Follow-up missed",
        failed_steps=["follow_up", "follow_up", "intake"],
        case_ref="N-01",
        by=personas.supervisor,
    )
    assert incident.failed_steps == ["follow_up", "intake"]
    assert incident.case.external_ref == "N-01"


def test_an_incident_refuses_unknown_steps_and_cases_of_other_sites(personas, cases):
    with pytest.raises(ValidationError) as error:
        incident_create(
            site=personas.north,
            kind="incident",
            severity="low",
            occurred_at=march(15),
            summary="x",
            failed_steps=["no_such_step"],
            case_ref="S-01",
        )
    assert set(error.value.message_dict) == {"failed_steps", "case_ref"}


def test_closing_a_review_needs_its_outcome(personas, cases):
    incident = incident_create(
        site=personas.north, kind="near_miss", severity="no_harm", occurred_at=march(15),
        summary="Near miss", failed_steps=["intake"],
    )  # fmt: skip
    with pytest.raises(ValidationError):
        incident_review(
            incident=incident, by=personas.lead, review_status="closed", review_outcome=""
        )
    incident_review(
        incident=incident,
        by=personas.lead,
        review_status="closed",
        review_outcome="Inbox rota changed",
        improvement_action_ref="IA-7",
    )
    incident = Incident.objects.get(pk=incident.pk)
    assert (incident.review_status, incident.improvement_action_ref) == ("closed", "IA-7")
    assert incident.history.count() == 2
