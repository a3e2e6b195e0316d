"""Demo data for learning, after assurance's snapshots: an improvement log with overdue, in
progress, done and verified actions (linked both ways to an incident, a drift signal and an
exception), a deviation pattern seen at three sites this quarter (a design signal), a quarterly
learning review; the behavioural-health escalation prompt piloted at North and South for two
months (started before the cases were loaded, so their cases in the pilot months follow the pilot
version), evaluated on those cases and adopted network-wide; a hospital-to-home proposal waiting
for its pilot and one rejected, with its reason."""

import copy
from datetime import timedelta

from django.core.exceptions import ValidationError

from assurance.models import DriftSignal, Incident
from assurance.services import improvement_action_raise
from learning import selectors
from learning.models import ImprovementAction
from learning.services import (
    change_proposal_adopt,
    change_proposal_create,
    change_proposal_evaluate,
    change_proposal_reject,
    change_proposal_start_pilot,
    deviation_log,
    improvement_action_create,
    improvement_action_raise_from_source,
    improvement_action_transition,
    improvement_action_update,
    learning_record_publish,
    learning_review_create,
    learning_review_raise_action,
)
from pathways import demo as pathways_demo
from pathways.models import ExceptionItem, Pathway, PathwayPilot
from pathways.selectors.versions import pathway_version_current, pathway_version_definition
from scaling_ops.dates import month_add
from scaling_ops.models import Site
from scaling_ops.services import site_change_status

# (site, days ago, category, step, referral source, note): the same workaround at three sites.
DEVIATIONS = [
    ("north", 40, "workaround", "first_home_visit", "hospital",
     "Phone check-in the day after discharge because no visit slot was free within 48 hours."),
    ("south", 33, "workaround", "first_home_visit", "hospital",
     "Called the person after discharge and booked the visit for day 3."),
    ("east", 21, "workaround", "first_home_visit", "hospital",
     "Phone check-in by the discharge coordinator; home visit on day 3."),
    ("south", 12, "workaround", "first_home_visit", "primary_care",
     "Same-day call instead of a visit; visit booked when the team had capacity."),
    ("north", 9, "tool_or_script", "risk_assessment", "hospital",
     "Used the ward's medication list instead of the risk tool's medication section."),
    ("south", 5, "tool_or_script", "risk_assessment", "community",
     "Medication risk recorded from the GP summary, not the tool."),
    ("south", 3, "step_skipped", "weekly_review", "self", "Weekly review skipped in a short week."),
]  # fmt: skip


def seed_learning(context) -> None:
    say = context.say
    supervisor = context.users["supervisor"]
    sites = context.sites
    today = selectors.organization_today()

    for code, days, category, step, source, note in DEVIATIONS:
        deviation_log(
            site=sites[code],
            category=category,
            step=step,
            referral_source=source,
            occurred_on=max(today - timedelta(days=days), selectors.quarter_start(today)),
            note=note,
            by=supervisor,
        )
    say(f"{len(DEVIATIONS)} deviations logged by hand (a workaround at three sites)")

    _improvement_log(context, today)
    review = _learning_review(context, today)
    _proposals(context, today, review)


def _improvement_log(context, today) -> None:
    lead, supervisor = context.users["lead"], context.users["supervisor"]
    sites = context.sites
    actions = []
    incident = Incident.objects.filter(review_status=Incident.Review.REVIEWED).order_by(
        "occurred_at"
    )
    incident = incident.filter(site=sites["south"]).first() or incident.first()
    if incident is not None:
        reference = improvement_action_raise(source=incident, by=supervisor)
        action = ImprovementAction.objects.get(number=int(reference.split("-")[1]))
        # Raised weeks ago with a two-week deadline that has passed: overdue.
        improvement_action_update(
            action=action,
            by=supervisor,
            title="Escalation prompts on the South follow-up list",
            owner=supervisor,
            deadline=today - timedelta(days=6),
            site=action.site,
            description="Add a prompt for two missed contacts to the daily follow-up list.",
        )
        actions.append(action)
    signal = (
        DriftSignal.objects.exclude(status=DriftSignal.Status.WITHDRAWN)
        .filter(improvement_action_ref="")
        .order_by("month")
        .first()
    )
    if signal is not None:
        reference = improvement_action_raise(source=signal, by=lead)
        action = ImprovementAction.objects.get(number=int(reference.split("-")[1]))
        improvement_action_transition(action=action, by=lead, status="in_progress")
        actions.append(action)
    item = (
        ExceptionItem.objects.filter(site=sites["north"], kind="overdue_step")
        .order_by("-due_at")
        .first()
    )
    if item is not None:
        action = improvement_action_raise_from_source(source=item, by=supervisor)
        improvement_action_transition(
            action=action,
            by=supervisor,
            status="done",
            closure_evidence="Intake rota now covers Saturday mornings (rota v4 attached to the "
            "team folder).",
        )
        actions.append(action)
    verified = improvement_action_create(
        title="Re-train North on medication reconciliation evidence",
        description="The September record audits found reconciliation not evidenced.",
        site=sites["north"],
        source_kind=ImprovementAction.Source.AUDIT,
        source_label="Routine record audit, North",
        owner=supervisor,
        deadline=today - timedelta(days=20),
        reaudit_on=today + timedelta(days=10),
        by=lead,
    )
    improvement_action_transition(action=verified, by=supervisor, status="in_progress")
    improvement_action_transition(
        action=verified,
        by=supervisor,
        status="done",
        closure_evidence="Two coaching sessions held; 9 of 10 records re-audited show the "
        "reconciliation.",
    )
    improvement_action_transition(action=verified, by=lead, status="verified")
    actions.append(verified)
    clause_action = improvement_action_create(
        title="Agree the response time clause for escalations with the commissioner",
        site=None,
        source_kind=ImprovementAction.Source.CONTRACT_CLAUSE,
        source_label="Contract corrective-action clause: escalation adherence",
        owner=lead,
        deadline=today - timedelta(days=2),
        by=lead,
    )
    actions.append(clause_action)
    # The lead chose to show the commissioner these two (no case or person in their text); the
    # rest of the log reads "(not published to commissioners)" for them.
    for published in (verified, clause_action):
        learning_record_publish(instance=published, by=lead, published=True)
    actions.append(
        improvement_action_create(
            title="Interpreter booking at first contact in East",
            site=sites["east"],
            source_kind=ImprovementAction.Source.INCIDENT,
            source_label="Near miss: interpreter not booked",
            owner=lead,
            deadline=today + timedelta(days=21),
            by=lead,
        )
    )
    overdue = sum(1 for a in actions if selectors.action_is_overdue(a, today))
    context.say(f"improvement log: {len(actions)} actions, {overdue} overdue, 1 verified")


def _learning_review(context, today):
    lead = context.users["lead"]
    sites = context.sites
    quarter = selectors.quarter_start(today)
    review = learning_review_create(
        title=f"Quarterly cross-site learning review {selectors.quarter_label(quarter)}",
        cadence="quarterly",
        period_start=quarter,
        period_end=today,
        held_on=today,
        sites=[sites["north"], sites["south"], sites["east"]],
        measures=["timeliness", "escalation_adherence", "assessment_completeness"],
        attendees="Implementation lead, site supervisors of North, South and East",
        decisions="The first-home-visit workaround is seen at all three live and launching "
        "sites: propose a phone check-in step to the model and pilot it at South and East. "
        "South's timeliness drift: keep the coaching and re-audit.",
        by=lead,
    )
    learning_review_raise_action(
        review=review,
        by=lead,
        title="Share North's Saturday intake rota with South",
        owner=context.users["supervisor"],
        deadline=today + timedelta(days=14),
        site=sites["south"],
    )
    learning_record_publish(instance=review, by=lead, published=True)
    context.say(f"learning review {review.reference} with its comparison and patterns")
    return review


def seed_pilot(context) -> None:
    """Before the cases are loaded (so that the pilot sites' cases in the pilot months really
    follow the pilot version): North's behavioural-health team proposes an escalation prompt,
    piloted at North and South for the two months before this one."""
    lead = context.users["lead"]
    sites = context.sites
    pathway = Pathway.objects.filter(slug="behavioural-health-continuity").first()
    if pathway is None:
        return
    base = pathway_version_current(pathway=pathway)
    definition = copy.deepcopy(pathway_version_definition(base).to_dict())
    rule = next(r for r in definition["escalation_rules"] if r["key"] == "disengagement")
    rule["tiers"] = ["medium", "high"]
    proposal = change_proposal_create(
        pathway=pathway,
        title="Escalation prompt after the second missed contact, for medium risk too",
        change_kind="tool",
        step_key="crisis_escalation",
        change="The case record prompts an escalation to the crisis team after the second "
        "missed contact in 14 days for medium-risk people as well as high-risk; the escalation "
        "is due within 12 hours of the prompt.",
        rationale="North's continuity workers found medium-risk people who disengaged were "
        "escalated days later than high-risk ones, though their outcomes were as poor.",
        evidence="Two medium-risk readmissions at North after repeated missed contacts with no "
        "escalation.",
        measures=["escalation_adherence"],
        origin_site=sites["north"],
        definition=definition,
        by=lead,
    )
    today = selectors.organization_today()
    demo_start = today - timedelta(days=pathways_demo.DEMO_DAYS)
    this_month = today.replace(day=1)
    start, end = month_add(this_month, -2), this_month - timedelta(days=1)
    if start < demo_start + timedelta(days=28):
        # A short demo: pilot over the second half of the days it covers.
        start, end = demo_start + (today - demo_start) // 2, today
    south = sites["south"]
    # The story: South was live when the pilot began, and paused later for its drift.
    was = south.status
    if was != Site.Status.LIVE:
        site_change_status(
            site=south, status=Site.Status.LIVE, override_reason="Live for the pilot (demo story)"
        )
    change_proposal_start_pilot(
        proposal=proposal, by=lead, sites=[sites["north"], south], start=start, end=end
    )
    if was != Site.Status.LIVE:
        site_change_status(site=south, status=was, override_reason="Paused: drift (demo story)")
    context.extra["pilot_proposal"] = proposal.number
    # The prompt works: the cases that follow the pilot version escalate more reliably (the
    # demo's generator reads this when it makes the cases).
    pilot = PathwayPilot.objects.filter(version=proposal.pilot_version).first()
    piloted_sites = {"north", "south"}
    context.extra["escalation_prompted"] = lambda case: (
        case.pathway == pathway.slug
        and case.site in piloted_sites
        and pilot.starts_at <= case.referral_at < pilot.ends_at
    )
    context.say(
        f"change proposal {proposal.reference} piloted at north and south from "
        f"{start:%Y-%m-%d} to {end:%Y-%m-%d} on {proposal.pilot_version}"
    )


def _adoption_reason(proposal) -> str:
    """The lead's reason, in the evaluation's own figures."""
    row = next(r for r in proposal.evaluation["measures"] if r["code"] == "escalation_adherence")
    before, during = row["pilot_before"], row["pilot_during"]
    pilot = (
        f"{row['name']} at the pilot sites went from {before['numerator']:.0f} of "
        f"{before['denominator']:.0f} escalations in time before the pilot to "
        f"{during['numerator']:.0f} of {during['denominator']:.0f} on the pilot version's cases"
    )
    if row["too_little_data"] or row["effect"] is None:
        comparison = (
            "the other sites had too few escalations due to compare, so the decision rests on "
            "the pilot sites' before and after and on the supervisors' review"
        )
    else:
        comparison = f"{row['effect']:+.1f} points beyond the other sites' change"
    return (
        f"{pilot}; {comparison}. Supervisors at both sites found the prompt easy to act on. "
        "Adopted network-wide."
    )


def _proposals(context, today, review) -> None:
    lead = context.users["lead"]
    sites = context.sites
    piloted = selectors.proposal_get(number=context.extra.get("pilot_proposal", 0))
    if piloted is not None:
        try:
            change_proposal_evaluate(proposal=piloted, by=lead, today=today)
        except ValidationError as error:
            context.say(f"{piloted.reference} not evaluated: {' '.join(error.messages)}")
        else:
            version = change_proposal_adopt(
                proposal=piloted, by=lead, reason=_adoption_reason(piloted)
            )
            context.say(
                f"{piloted.reference} evaluated on its pilot cases and adopted: {version} is "
                "active network-wide"
            )
    pathway = Pathway.objects.filter(slug="hospital-to-home").first()
    if pathway is None:
        return
    base = pathway_version_current(pathway=pathway)
    definition = copy.deepcopy(pathway_version_definition(base).to_dict())
    steps = definition["steps"]
    position = next(i for i, s in enumerate(steps) if s["key"] == "first_home_visit")
    steps.insert(
        position,
        {
            "key": "discharge_phone_check",
            "name": "Phone check-in after discharge",
            "kind": "touchpoint",
            "core": False,
            "time_standards": [{"anchor": "referral", "within_hours": 24}],
        },
    )
    for standard in steps[position + 1]["time_standards"]:
        if standard.get("tiers") == ["medium"]:
            standard["within_hours"] = 72
    # Waits for its pilot: South is paused and East still launching (a pilot runs at live sites).
    proposal = change_proposal_create(
        pathway=pathway,
        title="Phone check-in within 24 hours before the first home visit",
        change_kind="step",
        step_key="first_home_visit",
        change="Add an adaptable touchpoint 'Phone check-in after discharge' due 24 hours after "
        "referral; the medium-tier first home visit standard moves from 48 to 72 hours.",
        rationale="North's supervisors found that a next-day call catches medication and carer "
        "problems before the visit, and lets the visit be booked when a slot is free.",
        evidence=f"Deviation pattern 'local workaround at first_home_visit' at North, South and "
        f"East ({selectors.quarter_label(selectors.quarter_start(today))}); {review.reference} "
        "decided to pilot it.",
        measures=["timeliness", "escalation_adherence"],
        origin_site=sites["north"],
        definition=definition,
        by=lead,
    )
    rejected = change_proposal_create(
        pathway=pathway,
        title="Use the ward's medication list instead of the risk tool",
        change_kind="tool",
        step_key="risk_assessment",
        change="Accept the ward's discharge medication list as the medication risk section.",
        rationale="Saves re-keying at North and South.",
        evidence="Two 'tool used differently' deviations at risk_assessment.",
        measures=["assessment_completeness"],
        by=lead,
    )
    change_proposal_reject(
        proposal=rejected,
        by=lead,
        reason="The ward list misses over-the-counter medicines; the tool stays. Supervisors "
        "coach on using the tool with the ward list as its input.",
    )
    context.say(
        f"change proposal {proposal.reference} waits for its pilot at south and east; "
        f"{rejected.reference} rejected"
    )
