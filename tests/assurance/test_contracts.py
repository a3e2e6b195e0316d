"""Contracts: terms evaluated from the snapshots by maturity phase, corrective-action clauses,
payment band statements and the protected core."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from assurance.contracts.models import CorrectiveProcess, TermEvaluation
from assurance.contracts.selectors import payment_statement
from assurance.contracts.services import (
    contract_site_save,
    contract_terms_evaluate,
    corrective_process_update,
    performance_term_save,
)
from assurance.services import improvement_action_providers
from pathways.models import Case, CaseEvent, Pathway, PathwayVersion, SiteAdaptation
from pathways.services.versions import (
    pathway_version_retire,
    site_adaptation_decide,
    site_adaptation_propose,
)
from tests.assurance.contract_helpers import NOW, bands, make_contract, protect, snapshot
from tests.pathways.version_helpers import import_version, with_adaptable_step

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))
Status = TermEvaluation.Status


def evaluate(personas, month):
    return contract_terms_evaluate(organization=personas.org, month=month, now=NOW)


def status_of(term, site, month):
    return TermEvaluation.objects.get(term=term, site=site, month=month)


# --- term evaluation and maturity phases ------------------------------------------------------


def test_a_month_is_held_to_the_phase_in_force_on_its_first_day(personas, tenant):
    # North becomes mature on 1 March; South on 15 March (so March is still implementation).
    _, term, _ = make_contract(
        personas,
        sites=[personas.north, personas.south],
        mature_from={"north": MAR, "south": date(2026, 3, 15)},
    )
    for month in (FEB, MAR, APR):
        # 85%: met under implementation (80), at risk under mature (90 target, 75 threshold).
        snapshot(personas.north, month, {"timeliness": (85, 100)})
        snapshot(personas.south, month, {"timeliness": (85, 100)})
        evaluate(personas, month)
    north_feb = status_of(term, personas.north, FEB)
    assert (north_feb.phase, north_feb.target, north_feb.threshold) == ("implementation", 80, 60)
    assert north_feb.status == Status.MET
    north_mar = status_of(term, personas.north, MAR)
    assert (north_mar.phase, north_mar.target, north_mar.threshold) == ("mature", 90, 75)
    assert north_mar.status == Status.AT_RISK
    assert status_of(term, personas.south, MAR).phase == "implementation"
    assert status_of(term, personas.south, MAR).status == Status.MET
    assert status_of(term, personas.south, APR).phase == "mature"
    assert status_of(term, personas.south, APR).status == Status.AT_RISK


@pytest.mark.parametrize(
    "figure, expected",
    [(90, Status.MET), (89.9, Status.AT_RISK), (75, Status.AT_RISK), (74.9, Status.BREACHED)],
)
def test_status_at_the_target_and_threshold_edges(personas, tenant, figure, expected):
    _, term, _ = make_contract(personas, mature_from={"north": JAN})
    snapshot(personas.north, MAR, {"timeliness": (figure * 10, 1000)})
    evaluate(personas, MAR)
    evaluation = status_of(term, personas.north, MAR)
    assert evaluation.status == expected
    assert evaluation.value == pytest.approx(figure)
    assert (evaluation.numerator, evaluation.denominator) == (figure * 10, 1000)


def test_a_lower_is_better_measure_breaches_above_its_threshold(personas, tenant):
    contract, _, _ = make_contract(personas, mature_from={"north": JAN})
    from assurance.services import metric_definitions_ensure

    term = performance_term_save(
        contract=contract,
        by=None,
        clause="5.9",
        metric=metric_definitions_ensure()["incidents"],
        implementation_target=2,
        implementation_threshold=4,
        mature_target=1,
        mature_threshold=3,
    )
    snapshot(personas.north, MAR, {"incidents": (4, None)})
    evaluate(personas, MAR)
    evaluation = status_of(term, personas.north, MAR)
    assert (evaluation.value, evaluation.status) == (4, Status.BREACHED)


def test_thresholds_must_lie_on_the_bad_side_of_the_target(personas, tenant):
    contract, _, _ = make_contract(personas)
    from assurance.services import metric_definitions_ensure

    with pytest.raises(ValidationError) as caught:
        performance_term_save(
            contract=contract,
            by=None,
            clause="5.2",
            metric=metric_definitions_ensure()["timeliness"],
            implementation_target=80,
            implementation_threshold=85,
            mature_target=90,
            mature_threshold=75,
        )
    assert "must be at or below the target" in " ".join(caught.value.messages)


def test_evaluation_reads_the_latest_revision_and_keeps_the_evidence(personas, tenant):
    _, term, _ = make_contract(personas, mature_from={"north": JAN})
    snapshot(personas.north, MAR, {"timeliness": (50, 100)})
    newer = snapshot(personas.north, MAR, {"timeliness": (95, 100)}, revision=2)
    evaluate(personas, MAR)
    evaluation = status_of(term, personas.north, MAR)
    assert evaluation.status == Status.MET
    assert evaluation.evidence == [
        {
            "month": "2026-03",
            "snapshot_id": newer.pk,
            "revision": 2,
            "partial": False,
            "numerator": 95.0,
            "denominator": 100.0,
        }
    ]


def test_a_rolling_period_pools_numerators_and_denominators(personas, tenant):
    contract, term, _ = make_contract(personas, mature_from={"north": JAN})
    term.evaluation_months = 3
    term.save()
    snapshot(personas.north, JAN, {"timeliness": (10, 100)})
    snapshot(personas.north, FEB, {"timeliness": (90, 100)})
    snapshot(personas.north, MAR, {"timeliness": (200, 200)})
    evaluate(personas, MAR)
    evaluation = status_of(term, personas.north, MAR)
    assert (evaluation.numerator, evaluation.denominator) == (300, 400)
    assert evaluation.value == pytest.approx(75.0)
    assert evaluation.status == Status.AT_RISK


def test_a_site_without_a_snapshot_that_month_has_no_data(personas, tenant):
    _, term, _ = make_contract(personas)
    snapshot(personas.south, MAR, {"timeliness": (10, 100)})
    evaluate(personas, MAR)
    assert status_of(term, personas.north, MAR).status == Status.NO_DATA


def test_re_evaluating_a_month_replaces_its_row(personas, tenant):
    _, term, _ = make_contract(personas, mature_from={"north": JAN})
    snapshot(personas.north, MAR, {"timeliness": (50, 100)})
    evaluate(personas, MAR)
    snapshot(personas.north, MAR, {"timeliness": (95, 100)}, revision=2)
    evaluate(personas, MAR)
    assert TermEvaluation.objects.filter(term=term).count() == 1
    assert status_of(term, personas.north, MAR).status == Status.MET


def test_months_outside_the_contract_period_are_not_evaluated(personas, tenant):
    make_contract(personas, period=(APR, date(2026, 12, 31)))
    snapshot(personas.north, MAR, {"timeliness": (50, 100)})
    assert evaluate(personas, MAR) == []


# --- corrective-action clauses ---------------------------------------------------------------


def breach(personas, month, site=None):
    snapshot(site or personas.north, month, {"timeliness": (50, 100)})
    evaluate(personas, month)


def test_n_consecutive_breaches_open_a_joint_improvement_process(personas, tenant):
    _, term, clause = make_contract(personas, mature_from={"north": JAN}, breaches=3)
    breach(personas, JAN)
    breach(personas, FEB)
    assert not CorrectiveProcess.objects.exists()
    breach(personas, MAR)
    process = CorrectiveProcess.objects.get()
    assert (process.clause, process.term, process.site) == (clause, term, personas.north)
    assert process.status == CorrectiveProcess.Status.OPEN
    assert process.trigger_month == MAR
    assert process.owner == personas.lead
    assert process.deadline == date(2026, 6, 10) + timedelta(days=30)
    assert "breached 3 consecutive month(s) at" in process.trigger
    assert "2026-01 50.0%, 2026-02 50.0%, 2026-03 50.0%" in process.trigger
    assert [e["month"] for e in process.evidence] == ["2026-01", "2026-02", "2026-03"]
    assert all(e["status"] == "breached" and e["threshold"] == 75 for e in process.evidence)
    assert process.history.last().history_change_reason == "triggered by clause 7.1"


def test_a_gap_in_the_breach_run_does_not_trigger(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    breach(personas, JAN)
    snapshot(personas.north, FEB, {"timeliness": (80, 100)})  # at risk, not breached
    evaluate(personas, FEB)
    breach(personas, MAR)
    assert not CorrectiveProcess.objects.exists()


def test_an_open_process_is_not_triggered_again(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    for month in (JAN, FEB, MAR, APR):
        breach(personas, month)
    assert CorrectiveProcess.objects.count() == 1
    # Re-evaluating the months (a recompute) does not open another either.
    for month in (JAN, FEB, MAR, APR):
        evaluate(personas, month)
    assert CorrectiveProcess.objects.count() == 1


def test_after_closing_only_a_fresh_run_of_breaches_triggers_again(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    breach(personas, JAN)
    breach(personas, FEB)
    process = CorrectiveProcess.objects.get()
    corrective_process_update(
        process=process,
        by=personas.lead,
        status=CorrectiveProcess.Status.CLOSED,
        progress="Joint plan agreed; weekly huddles restored.",
        owner=personas.lead,
    )
    evaluate(personas, FEB)  # the months that triggered never count twice
    breach(personas, MAR)  # FEB already triggered: MAR alone is not a run of two
    assert CorrectiveProcess.objects.count() == 1
    breach(personas, APR)
    assert CorrectiveProcess.objects.count() == 2
    assert CorrectiveProcess.objects.filter(status="open").get().trigger_month == APR


def test_closing_needs_a_word_on_what_was_done(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=1)
    breach(personas, JAN)
    with pytest.raises(ValidationError):
        corrective_process_update(
            process=CorrectiveProcess.objects.get(),
            by=personas.lead,
            status=CorrectiveProcess.Status.CLOSED,
            progress="  ",
        )


def test_a_month_still_running_never_triggers(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    breach(personas, JAN)
    snapshot(personas.north, FEB, {"timeliness": (10, 100)}, partial=True)
    evaluate(personas, FEB)
    assert status_of_any(FEB).partial
    assert not CorrectiveProcess.objects.exists()


def test_a_month_still_running_has_no_status_until_complete_and_re_evaluated(personas, tenant):
    _, term, _ = make_contract(personas, mature_from={"north": JAN})
    snapshot(personas.north, FEB, {"timeliness": (10, 100)}, partial=True)
    evaluate(personas, FEB)
    running = status_of(term, personas.north, FEB)
    assert (running.status, running.partial) == (Status.IN_PROGRESS, True)
    assert running.value == pytest.approx(10.0)  # the figure so far is still shown
    snapshot(personas.north, FEB, {"timeliness": (10, 100)}, revision=2)
    evaluate(personas, FEB)
    complete = status_of(term, personas.north, FEB)
    assert (complete.status, complete.partial) == (Status.BREACHED, False)


def test_a_month_not_yet_ended_has_no_status_even_from_a_complete_looking_snapshot(
    personas, tenant
):
    # NOW is 10 June: June has not ended in the organisation's time zone.
    _, term, _ = make_contract(personas, mature_from={"north": JAN})
    june = date(2026, 6, 1)
    snapshot(personas.north, june, {"timeliness": (10, 100)})
    evaluate(personas, june)
    assert status_of(term, personas.north, june).status == Status.IN_PROGRESS
    contract_terms_evaluate(
        organization=personas.org, month=june, now=datetime(2026, 7, 2, tzinfo=UTC)
    )
    assert status_of(term, personas.north, june).status == Status.BREACHED


def test_a_running_month_counts_towards_a_breach_run_only_once_complete(personas, tenant):
    # Two clause months needed: January breached, February still running and breaching so far.
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    breach(personas, JAN)
    snapshot(personas.north, FEB, {"timeliness": (10, 100)}, partial=True)
    evaluate(personas, FEB)
    assert not CorrectiveProcess.objects.exists()
    snapshot(personas.north, FEB, {"timeliness": (10, 100)}, revision=2)
    evaluate(personas, FEB)
    assert CorrectiveProcess.objects.get().trigger_month == FEB


def status_of_any(month):
    return TermEvaluation.objects.get(month=month)


def test_each_site_has_its_own_breach_run(personas, tenant):
    make_contract(
        personas,
        sites=[personas.north, personas.south],
        mature_from={"north": JAN, "south": JAN},
        breaches=2,
    )
    for month in (JAN, FEB):
        snapshot(personas.north, month, {"timeliness": (50, 100)})
        snapshot(personas.south, month, {"timeliness": (95, 100)})
        evaluate(personas, month)
    assert list(CorrectiveProcess.objects.values_list("site__code", flat=True)) == ["north"]


def test_the_process_opens_an_improvement_action_when_a_learning_provider_exists(personas, tenant):
    seen = {}

    def provider(*, source, by):
        seen.update(
            model=source._meta.model_name, pk=source.pk, text=str(source), site=source.site, by=by
        )
        return "IA-42"

    with improvement_action_providers.overridden(provider):
        make_contract(personas, mature_from={"north": JAN}, breaches=1)
        breach(personas, JAN)
    process = CorrectiveProcess.objects.get()
    assert process.improvement_action_ref == "IA-42"
    assert seen["model"] == "correctiveprocess" and seen["pk"] == process.pk
    assert seen["site"] == personas.north and seen["by"] == personas.lead
    assert "Timeliness compliance at North" in seen["text"]


def test_without_a_provider_the_process_is_still_recorded(personas, tenant):
    with improvement_action_providers.overridden():
        make_contract(personas, mature_from={"north": JAN}, breaches=1)
        breach(personas, JAN)
    assert CorrectiveProcess.objects.get().improvement_action_ref == ""
    assert improvement_action_providers.providers()  # the learning app's, restored


# --- payment bands -----------------------------------------------------------------------------


def _case(site, version, ref, referral_at, tier):
    return Case.objects.create(
        external_ref=ref, site=site, version=version, referral_at=referral_at, risk_tier=tier
    )


def _event(case, at, n):
    CaseEvent.objects.create(
        event_id=f"{case.external_ref}-{n}",
        case=case,
        type="step_completed",
        step_key="intake",
        occurred_at=at,
        content_hash=f"h{case.pk}-{n}",
    )


def test_the_statement_counts_activity_by_band_and_prices_it(
    personas, tenant, django_assert_max_num_queries
):
    version = import_version(with_adaptable_step(), activate=True)
    contract, _, _ = make_contract(
        personas, sites=[personas.north, personas.south], pathways=[version.pathway]
    )
    bands(contract)
    march = datetime(2026, 3, 10, 12, tzinfo=UTC)
    for n, tier in enumerate(["low", "low", "medium", "high"]):
        _case(personas.north, version, f"N{n}", march, tier)
    _case(personas.south, version, "S0", march, "high")
    # Referred in February, active in March: counted as active, not as a March referral.
    earlier = _case(personas.north, version, "N-old", datetime(2026, 2, 3, tzinfo=UTC), "high")
    _event(earlier, march, 1)
    _event(earlier, march + timedelta(days=1), 2)
    # Referred in February with nothing in March: neither.
    _case(personas.north, version, "N-quiet", datetime(2026, 2, 4, tzinfo=UTC), "low")
    # Referred in April: not March.
    _case(personas.north, version, "N-apr", datetime(2026, 4, 2, tzinfo=UTC), "low")
    with django_assert_max_num_queries(6):
        statement = payment_statement(
            contract=contract, month=MAR, sites=[personas.north, personas.south]
        )
        lines = {(line.site.code, line.band.name): line for line in statement.lines}
    assert {k: v.count for k, v in lines.items()} == {
        ("north", "Low"): 2,
        ("north", "Medium"): 1,
        ("north", "High"): 1,
        ("north", "Active"): 5,
        ("south", "Low"): 0,
        ("south", "Medium"): 0,
        ("south", "High"): 1,
        ("south", "Active"): 1,
    }
    assert lines[("north", "Low")].amount == Decimal("200.00")
    assert lines[("north", "Active")].amount == Decimal("50.00")
    assert statement.activity_total == Decimal(200 + 200 + 400 + 50 + 400 + 10)


def test_the_statement_adds_the_funded_components(personas, tenant):
    from assurance.contracts.services import funded_component_save

    contract, _, _ = make_contract(personas)
    funded_component_save(
        contract=contract, by=None, kind="supervision", monthly_amount=Decimal("4500")
    )
    funded_component_save(
        contract=contract, by=None, kind="implementation_support", monthly_amount=Decimal("1000")
    )
    statement = payment_statement(contract=contract, month=MAR, sites=[personas.north])
    assert statement.components_total == Decimal("5500")
    assert statement.total == Decimal("5500")


def test_cases_on_other_pathways_are_not_paid_by_the_contract(personas, tenant):
    version = import_version(with_adaptable_step(), activate=True)
    other = Pathway.objects.create(slug="other", name="Other")
    contract, _, _ = make_contract(personas, pathways=[other])
    bands(contract)
    _case(personas.north, version, "N1", datetime(2026, 3, 5, tzinfo=UTC), "low")
    statement = payment_statement(contract=contract, month=MAR, sites=[personas.north])
    assert sum(line.count for line in statement.lines) == 0


# --- protected core ------------------------------------------------------------------------------


@pytest.fixture
def protected(personas, tenant):
    """The weekly review is adaptable in the pathway, but the contract protects it at North."""
    version = import_version(with_adaptable_step(), activate=True)
    today = date.today()
    contract, _, _ = make_contract(
        personas,
        pathways=[version.pathway],
        period=(today - timedelta(days=30), today + timedelta(days=300)),
    )
    protect(contract, version.pathway, "weekly_review", clause="4.2")
    return version


def _propose(personas, pathway, site):
    return site_adaptation_propose(
        site=site,
        pathway=pathway,
        step_key="weekly_review",
        what="Phone reviews",
        why="Ferry times",
        by=personas.lead,
    )


def test_adapting_a_protected_step_at_a_covered_site_is_refused_naming_the_clause(
    personas, protected
):
    with pytest.raises(ValidationError) as caught:
        _propose(personas, protected.pathway, personas.north)
    message = " ".join(caught.value.messages)
    assert "Refused by contract Contract county-a, clause 4.2" in message
    assert "'weekly_review'" in message and "protected core at North" in message
    assert not SiteAdaptation.objects.exists()


def test_the_same_step_may_still_be_adapted_at_a_site_the_contract_does_not_cover(
    personas, protected
):
    assert _propose(personas, protected.pathway, personas.south).status == "proposed"


def test_approving_a_proposal_made_before_the_contract_is_refused(personas, tenant):
    version = import_version(with_adaptable_step(), activate=True)
    proposal = _propose(personas, version.pathway, personas.north)
    today = date.today()
    contract, _, _ = make_contract(
        personas, pathways=[version.pathway], period=(today, today + timedelta(days=30))
    )
    protect(contract, version.pathway, "weekly_review")
    with pytest.raises(ValidationError) as caught:
        site_adaptation_decide(adaptation=proposal, approve=True, by=personas.admin)
    assert "clause 4.2" in " ".join(caught.value.messages)
    proposal.refresh_from_db()
    assert proposal.status == SiteAdaptation.Status.PROPOSED


def test_retiring_the_active_version_holding_a_protected_step_is_refused(personas, protected):
    with pytest.raises(ValidationError) as caught:
        pathway_version_retire(version=protected, by=personas.admin)
    message = " ".join(caught.value.messages)
    assert "Refused by contract Contract county-a, clause 4.2" in message
    assert "retiring v1 would take it out of use" in message
    protected.refresh_from_db()
    assert protected.status == PathwayVersion.Status.ACTIVE


def test_an_ended_contract_protects_nothing(personas, tenant):
    version = import_version(with_adaptable_step(), activate=True)
    contract, _, _ = make_contract(
        personas, pathways=[version.pathway], period=(date(2020, 1, 1), date(2020, 12, 31))
    )
    protect(contract, version.pathway, "weekly_review")
    assert _propose(personas, version.pathway, personas.north).status == "proposed"
    pathway_version_retire(version=version, by=personas.admin)
    version.refresh_from_db()
    assert version.status == PathwayVersion.Status.RETIRED


def test_a_protected_step_must_exist_in_the_pathway(personas, tenant):
    version = import_version(with_adaptable_step(), activate=True)
    contract, _, _ = make_contract(personas, pathways=[version.pathway])
    with pytest.raises(ValidationError) as caught:
        protect(contract, version.pathway, "no_such_step")
    assert "has no step 'no_such_step'" in " ".join(caught.value.messages)


# --- hooks, command, history ------------------------------------------------------------------


def test_computing_a_snapshot_evaluates_the_terms(personas, assured):
    from scaling_ops import tenancy

    with tenancy.scope(personas.org):
        _, term, _ = make_contract(personas, sites=[personas.north, personas.south])
        from assurance.services import assurance_snapshot_compute

        assurance_snapshot_compute(
            organization=personas.org, month=MAR, now=datetime(2026, 4, 5, tzinfo=UTC)
        )
        evaluation = status_of(term, personas.north, MAR)
        assert evaluation.evidence[0]["revision"] == 2
        assert evaluation.denominator > 0
        assert evaluation.status in (Status.MET, Status.AT_RISK, Status.BREACHED)


def test_the_evaluate_contracts_command_walks_every_month_in_order(personas, tenant):
    make_contract(personas, mature_from={"north": JAN}, breaches=2)
    snapshot(personas.north, JAN, {"timeliness": (50, 100)})
    snapshot(personas.north, FEB, {"timeliness": (50, 100)})
    out = StringIO()
    call_command("evaluate_contracts", "--org", personas.org.slug, stdout=out)
    text = out.getvalue()
    assert "acme 2026-01: 1 term evaluations (1 breached)" in text
    assert "1 joint improvement process(es) opened; 1 open in total." in text


def test_the_command_names_an_unknown_organisation(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No organisation with slug 'nope'"):
        call_command("evaluate_contracts", "--org", "nope")


def test_a_phase_change_is_kept_in_the_history(personas, tenant):
    contract, _, _ = make_contract(personas)
    row = contract.sites.get()
    contract_site_save(
        contract=contract, by=personas.lead, site=personas.north, mature_from=APR, row=row
    )
    reasons = list(
        row.history.order_by("history_date").values_list("history_change_reason", "mature_from")
    )
    assert reasons[-1] == ("north: mature from 2026-04-01 (was implementation)", APR)
    assert len(reasons) == 2
