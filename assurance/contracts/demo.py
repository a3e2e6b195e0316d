"""Demo contracts (after the monthly snapshots, order 450): two counties commission the same
model on the same shared metric definitions.

- Riverside County Council covers North (mature) and East (launching: implementation phase, so
  its targets are the gentler implementation ones) and protects medication reconciliation, an
  adaptable step of the pathway, as well as escalation review.
- Valley County Integrated Care Board covers South, the site that drifts: its timeliness is
  breached two complete months running, which opens a joint improvement process.

Terms are evaluated month by month from the snapshots the assurance seeder computed."""

from datetime import timedelta
from decimal import Decimal

from assurance.contracts.models import CorrectiveProcess, TermEvaluation
from assurance.contracts.services import (
    contract_save,
    contract_site_save,
    contract_terms_evaluate,
    corrective_clause_save,
    funded_component_save,
    payment_band_save,
    performance_term_save,
    protected_component_save,
)
from assurance.models import AssuranceSnapshot
from assurance.services import metric_definitions_ensure, month_add
from pathways.models import Pathway

# clause, metric, implementation target/threshold, mature target/threshold
TERMS = [
    ("5.1", "timeliness", (75.0, 60.0), (85.0, 75.0)),
    ("5.2", "escalation_adherence", (50.0, 30.0), (60.0, 40.0)),
    ("5.3", "assessment_completeness", (80.0, 65.0), (90.0, 80.0)),
    ("5.4", "touchpoint_completion", (80.0, 65.0), (90.0, 80.0)),
]
BANDS = [
    ("Referral, low risk", "referrals", "low", "180.00"),
    ("Referral, medium risk", "referrals", "medium", "320.00"),
    ("Referral, high risk", "referrals", "high", "540.00"),
    ("Active caseload (per case per month)", "active_cases", "", "45.00"),
]


def seed_contracts(context) -> None:
    say = context.say
    organization = context.organization
    lead = context.users["lead"]
    metrics = metric_definitions_ensure()
    pathways = list(Pathway.objects.order_by("slug"))
    months = sorted(set(AssuranceSnapshot.objects.values_list("month", flat=True)))
    if not pathways or not months:
        say("no pathways or snapshots: contracts demo skipped")
        return
    start = months[0]
    end = month_add(start, 12) - timedelta(days=1)
    h2h = next((p for p in pathways if p.slug == "hospital-to-home"), pathways[0])
    bhc = next((p for p in pathways if p.slug == "behavioural-health-continuity"), pathways[-1])
    commissioner = context.users["commissioner"]
    sites = context.sites

    riverside = contract_save(
        by=lead,
        reference="rcc-2026",
        name="Riverside County community transitions",
        commissioner_name="Riverside County Council",
        county="Riverside County",
        period_start=start,
        period_end=end,
        pathways=[h2h, bhc],
        commissioners=[commissioner],
        notes="Pays for the model that works: acuity bands, funded supervision and "
        "implementation support for East while it launches.",
    )
    contract_site_save(contract=riverside, by=lead, site=sites["north"], mature_from=start)
    # East is launching: implementation phase until a year after the contract starts.
    contract_site_save(contract=riverside, by=lead, site=sites["east"], mature_from=end)
    valley = contract_save(
        by=lead,
        reference="vcc-2026",
        name="Valley County continuity of care",
        commissioner_name="Valley County Integrated Care Board",
        county="Valley County",
        period_start=start,
        period_end=end,
        pathways=[h2h, bhc],
        commissioners=[commissioner],
        notes="Same metric definitions as Riverside, so both counties read one set of figures.",
    )
    contract_site_save(contract=valley, by=lead, site=sites["south"], mature_from=start)

    for contract in (riverside, valley):
        terms = {}
        for clause, code, (it, ith), (mt, mth) in TERMS:
            terms[code] = performance_term_save(
                contract=contract,
                by=lead,
                clause=clause,
                metric=metrics[code],
                implementation_target=it,
                implementation_threshold=ith,
                mature_target=mt,
                mature_threshold=mth,
            )
        for order, (name, activity, tier, rate) in enumerate(BANDS):
            payment_band_save(
                contract=contract,
                by=lead,
                name=name,
                activity=activity,
                risk_tier=tier,
                unit_rate=Decimal(rate),
                order=order,
            )
        funded_component_save(
            contract=contract,
            by=lead,
            kind="supervision",
            monthly_amount=Decimal("4500.00"),
            description="Monthly clinical supervision of every practitioner",
        )
        funded_component_save(
            contract=contract,
            by=lead,
            kind="escalation_coordination",
            monthly_amount=Decimal("2000.00"),
            description="Escalation coordinator on call",
        )
        for clause, pathway, step, standard in [
            ("4.1", h2h, "escalation_review", "escalation reviewed within the rule's time"),
            ("4.2", h2h, "medication_reconciliation", "reconciled before the first visit"),
            ("4.3", bhc, "crisis_escalation", "crisis escalation within the rule's time"),
            ("4.4", bhc, "medication_follow_up", "medication follow-up after crisis care"),
        ]:
            protected_component_save(
                contract=contract,
                by=lead,
                clause=clause,
                pathway=pathway,
                step_key=step,
                standard=standard,
            )
        corrective_clause_save(
            contract=contract,
            by=lead,
            clause="7.1",
            term=terms["timeliness"],
            consecutive_breaches=2,
            response_days=60,
            owner=lead,
            description="Persistent variance in timeliness: provider and commissioner agree a "
            "joint improvement plan.",
        )
    funded_component_save(
        contract=riverside,
        by=lead,
        kind="implementation_support",
        monthly_amount=Decimal("6000.00"),
        description="Implementation support for East until it is mature",
    )

    for month in months:
        contract_terms_evaluate(organization=organization, month=month)
    breached = TermEvaluation.objects.filter(status=TermEvaluation.Status.BREACHED).count()
    processes = CorrectiveProcess.objects.count()
    say(
        f"2 contracts (Riverside County, Valley County) on shared metric definitions; "
        f"{breached} breached term-months; {processes} joint improvement process(es)"
    )
