"""Demo data for the workforce app: a standard, training modules, staff and teams at North (the
model), South (stretched: span, skill mix, supervision gaps, an expired certificate) and East
(launching, with blockers), supervision history, case assignments, a review sample, a
versioned launch checklist, and 30 days of daily integrity checks for the trend charts."""

import random
from datetime import timedelta

from django.utils import timezone

from pathways.demo import pressure_months
from pathways.models import Case, CaseEvent, EventType, Pathway
from scaling_ops.services import partner_key_create
from workforce.models import (
    CASELOAD_ROLES,
    CaseAssignment,
    OnboardingTask,
    StaffMember,
    StaffRole,
    TrainingModule,
    WorkforceStandard,
)
from workforce.services import (
    checklist_template_activate,
    checklist_template_ensure,
    checklist_template_new_version,
    readiness_attest,
    review_sample_draw,
    staff_create,
    supervision_session_record,
    team_create,
    team_establishment_set,
    training_completion_record,
    training_module_create,
    workforce_checks_compute,
)
from workforce.services.checks import staff_in_post
from workforce.services.packages import package_acknowledge, package_versions_for_site
from workforce.services.supervision import week_start_of

TREND_DAYS = 30
P, SP = StaffRole.PRACTITIONER, StaffRole.SENIOR_PRACTITIONER
EXP, DEV, NEW = "experienced", "developing", "new"


def seed_workforce(context) -> None:
    say = context.say
    org, sites, users = context.organization, context.sites, context.users
    today = timezone.localdate(timezone=org.zone)
    rng = random.Random(2026)
    WorkforceStandard.objects.create(
        min_experienced_share=0.5,
        max_practitioners_per_supervisor=6,
        supervision_interval_days=14,
        review_sample_size=3,
        onboarding_days=30,
        # Synthetic cases stay open for months, so caseloads run high all round; the maximum
        # is set above North's so that only South's surge months read as pressure.
        max_caseload=70,
    )
    modules = [
        training_module_create(code="model-fidelity", name="Model fidelity and the pathway",
                               kind="core"),
        training_module_create(code="safeguarding", name="Safeguarding adults", kind="core",
                               validity_months=24),
        training_module_create(code="risk-escalation", name="Risk stratification and escalation",
                               kind="core", validity_months=12),
        training_module_create(code="supervision-skills", name="Reflective supervision",
                               kind="role_specific", roles=["supervisor", "clinical_lead"]),
    ]  # fmt: skip
    core = modules[:3]
    h2h = Pathway.objects.filter(slug="hospital-to-home").first()
    long_ago = today - timedelta(days=900)

    def hire(site, name, role, band, start=long_ago, team=None, user=None, trained=True):
        staff = staff_create(site=site, name=name, role=role, experience_band=band,
                             start_date=start, team=team, user=user, today=today)  # fmt: skip
        if trained:
            for module in core + ([modules[3]] if role in ("supervisor", "clinical_lead") else []):
                completed = max(start, today - timedelta(days=rng.randint(40, 300)))
                training_completion_record(staff=staff, module=module, completed_on=completed,
                                           by=users["lead"], evidence="Course register")  # fmt: skip
        return staff

    # North: the model.
    north = sites["north"]
    hire(north, "Dr Maya Reid", StaffRole.CLINICAL_LEAD, EXP)
    sam_n = hire(north, "Sam Okafor", StaffRole.SUPERVISOR, EXP, user=users["supervisor"])
    priya = hire(north, "Priya Shah", StaffRole.SUPERVISOR, EXP)
    team_a = team_create(site=north, name="Discharge A", supervisor=sam_n, pathway=h2h)
    team_b = team_create(site=north, name="Discharge B", supervisor=priya, pathway=h2h)
    north_staff = [
        hire(north, name, role, band, team=team)
        for name, role, band, team in [
            ("Ada Mensah", SP, EXP, team_a), ("Ben Carter", P, EXP, team_a),
            ("Chloe Park", P, DEV, team_a), ("Dan Reyes", P, EXP, team_a),
            ("Esi Boateng", SP, EXP, team_b), ("Finn Walsh", P, DEV, team_b),
            ("Grace Liu", P, EXP, team_b), ("Hugo Marsh", P, NEW, team_b),
        ]
    ]  # fmt: skip

    # South: stretched. One supervisor over eight, few experienced, supervision lapsing.
    south = sites["south"]
    sam_s = hire(south, "Sam Okafor", StaffRole.SUPERVISOR, EXP, user=users["supervisor"])
    valley = team_create(site=south, name="Valley Team", supervisor=sam_s, pathway=h2h)
    south_staff = [
        hire(south, name, role, band, team=valley)
        for name, role, band in [
            ("Isla Grant", SP, EXP), ("Jon Pike", P, EXP), ("Kemi Ade", P, DEV),
            ("Liam Burke", P, NEW), ("Mia Novak", P, DEV), ("Nia Evans", P, NEW),
            ("Omar Haddad", P, DEV),
        ]
    ]  # fmt: skip
    # Kemi's risk and escalation certificate lapsed last week.
    kemi = south_staff[2]
    kemi.completions.filter(module=core[2]).update(
        completed_on=today - timedelta(days=380), expires_on=today - timedelta(days=15)
    )
    # A new starter three weeks ago pushes the team over the span a fortnight before today.
    late_joiner = hire(south, "Pia Sousa", P, NEW, start=today - timedelta(days=21), team=valley,
                       trained=False)  # fmt: skip
    south_staff.append(late_joiner)
    # Section 4a's story: Quinn left when South's referral surge began and was not replaced for
    # two months (Rhea started in Quinn's post after); Pia filled a post vacant since before.
    first, after = pressure_months(today)
    quinn = hire(south, "Quinn Hale", P, EXP, team=valley)
    StaffMember.objects.filter(pk=quinn.pk).update(left_on=first)
    south_staff.append(hire(south, "Rhea Moss", P, DEV, start=after, team=valley))

    # East: launching. New starters mid-onboarding, one team without a supervisor, one
    # practitioner without core training, no partner key yet.
    east = sites["east"]
    lee = hire(east, "Lee Chen", StaffRole.SUPERVISOR, EXP, start=today - timedelta(days=200))
    harbour = team_create(site=east, name="Harbour Team", supervisor=lee, pathway=h2h)
    outreach = team_create(site=east, name="Harbour Outreach", pathway=h2h)
    east_staff = [
        hire(east, "Rosa Quint", SP, EXP, start=today - timedelta(days=150), team=harbour),
        hire(east, "Sol Adeyemi", P, EXP, start=today - timedelta(days=120), team=harbour),
        hire(east, "Tara Byrne", P, DEV, start=today - timedelta(days=120), team=outreach),
    ]
    for name, band, days, team in [
        ("Uma Patel", NEW, 24, harbour),
        ("Vic Osei", DEV, 18, outreach),
    ]:
        starter = hire(east, name, P, band, start=today - timedelta(days=days), team=team,
                       trained=False)  # fmt: skip
        east_staff.append(starter)
        due = starter.onboarding.tasks.filter(due_on__lt=today - timedelta(days=4), module=None)
        for task in due:
            # Uma keeps up; Vic has fallen behind on the shadowing plan.
            if name == "Uma Patel" or "Shadowing" not in task.title:
                task.done_on = task.due_on
                task.save(update_fields=["done_on"])
        if name == "Uma Patel":
            for module in core:
                training_completion_record(staff=starter, module=module,
                                           completed_on=today - timedelta(days=12),
                                           by=users["lead"])  # fmt: skip
    # Tara never finished risk stratification: the launch blocker on core training.
    east_staff[2].completions.filter(module=core[2]).delete()

    # Funded establishment: North and East as staffed; South funded for nine posts all along.
    for team, fte, since in [
        (team_a, 4, long_ago), (team_b, 4, long_ago), (valley, 9, long_ago),
        (harbour, 3, today - timedelta(days=24)), (outreach, 2, today - timedelta(days=18)),
    ]:  # fmt: skip
        team_establishment_set(team=team, fte=fte, effective_from=since, by=users["lead"],
                               note="Funded posts in the contract budget", today=today)  # fmt: skip

    # Supervision: fortnightly at North, lapsing at South, regular at East.
    start = today - timedelta(days=70)
    sessions = 0
    for supervisor, people, every, stop in [
        (None, north_staff, 10, 0), (sam_s, south_staff, 12, 0), (lee, east_staff, 9, 0),
    ]:  # fmt: skip
        for index, staff in enumerate(people):
            lead_of = supervisor or staff.team.supervisor
            # At South, every second person has had no session for the last 20 days.
            halt = 20 if lead_of == sam_s and index % 2 == 0 else stop
            day = max(start, staff.start_date) + timedelta(days=index % every)
            while day <= today - timedelta(days=halt + 1):
                supervision_session_record(supervisor=lead_of, staff=staff, held_on=day,
                                           by=users["supervisor"], notes="Caseload review")  # fmt: skip
                sessions += 1
                day += timedelta(days=every)

    # Partner keys for the live and paused sites; East has none yet.
    partner_key_create(name="North Riverside EHR", sites=[north], created_by=users["admin"])
    partner_key_create(name="Valley case system", sites=[south], created_by=users["admin"])

    # Open cases to practitioners, round-robin per site.
    closed = set(
        CaseEvent.objects.filter(type=EventType.CASE_CLOSED).values_list("case_id", flat=True)
    )
    rows = []
    for site, people in [(north, north_staff), (south, south_staff), (east, east_staff)]:
        open_cases = [
            (pk, referral_at)
            for pk, referral_at in Case.objects.filter(site=site).order_by("pk")
            .values_list("pk", "referral_at")
            if pk not in closed
        ]  # fmt: skip
        # Assigned when referred, so the caseload history of section 4a has something to show.
        for index, (case_id, referral_at) in enumerate(open_cases):
            rows.append(CaseAssignment(organization_id=org.pk, case_id=case_id,
                                       practitioner=people[index % len(people)],
                                       assigned_by=users["supervisor"],
                                       assigned_at=referral_at))  # fmt: skip
    CaseAssignment.objects.bulk_create(rows, batch_size=1000)
    review_sample_draw(supervisor=sam_n, week_start=week_start_of(today), seed=2026,
                       by=users["supervisor"])  # fmt: skip

    # Launch checklist: v1 built in, v2 adds the crisis-line test; East partly signed off.
    first = checklist_template_ensure(by=users["lead"])
    second = checklist_template_new_version(
        base=first, by=users["lead"], note="Add the crisis-line escalation test after the "
        "South review.", add_items=[{"key": "crisis-line", "title": "Crisis-line escalation "
                                     "route tested", "guidance": "A test call reached the "
                                     "out-of-hours team and was logged."}],
    )  # fmt: skip
    checklist_template_activate(template=second, by=users["admin"])
    readiness_attest(site=east, item_key="partner-contacts", by=users["lead"],
                     evidence="Harbour Hospital discharge hub (ward 4 coordinator), two GP "
                     "practices and the county crisis line confirmed by email on the launch call.")  # fmt: skip
    readiness_attest(site=east, item_key="crisis-line", by=users["lead"],
                     evidence="Test call on Tuesday reached the out-of-hours team; logged.")  # fmt: skip

    # The replication package: North's practitioners have all acknowledged it, East's half.
    acknowledged = 0
    for site, share in ((sites["north"], 1.0), (east, 0.5)):
        practitioners = list(
            staff_in_post(today).filter(site=site, role__in=CASELOAD_ROLES).order_by("name")
        )
        for version in package_versions_for_site(site):
            for person in practitioners[: round(len(practitioners) * share)]:
                package_acknowledge(staff=person, version=version, by=users["lead"])
                acknowledged += 1

    # Thirty days of daily checks, as the beat job would have computed them.
    for offset in range(TREND_DAYS, 0, -1):
        workforce_checks_compute(organization=org, date=today - timedelta(days=offset))
    staff_count = StaffMember.objects.count()
    behind = OnboardingTask.objects.filter(done_on__isnull=True, due_on__lt=today).count()
    say(
        f"workforce: {staff_count} staff in {len(north_staff) + len(south_staff) + len(east_staff)}"
        f" caseloads, {sessions} supervision sessions, {len(rows)} case assignments, "
        f"{TrainingModule.objects.count()} training modules, {behind} onboarding tasks behind; "
        f"East launching with blockers; {TREND_DAYS} days of integrity checks; "
        f"{acknowledged} package acknowledgements"
    )


def seed_coaching(context) -> None:
    """After the assurance snapshots (whose drift signals scheduled coaching): the first drift
    response's session held late, and East Harbour (launching) coached weekly, twice."""
    from workforce.coaching.models import CoachingSession
    from workforce.coaching.services import (
        coaching_follow_up_raise,
        coaching_follow_ups,
        coaching_session_record,
    )

    org, sites, lead = context.organization, context.sites, context.users["lead"]
    today = timezone.localdate(timezone=org.zone)

    def attendees(site):
        return list(StaffMember.objects.filter(site=site, left_on__isnull=True)[:4])

    held = 0
    scheduled = (
        CoachingSession.objects.filter(held_on__isnull=True)
        .exclude(source_key="")
        .order_by("due_on", "pk")
        .first()
    )
    if scheduled is not None and attendees(scheduled.site):
        late_on = scheduled.due_on + timedelta(days=4)
        if late_on <= today:
            coaching_session_record(
                site=scheduled.site, held_on=late_on, lead=lead,
                attendees=attendees(scheduled.site), by=lead, organization=org,
                session=scheduled,
                notes="Walked through the week's late follow-ups case by case; practised the "
                "48-hour call script.",
                follow_up="Practice educator to shadow two follow-ups each week until the re-audit.",
            )  # fmt: skip
            held += 1
    east = sites["east"]
    if attendees(east):
        for days_ago in (8, 1):
            session = coaching_session_record(
                site=east, held_on=today - timedelta(days=days_ago), lead=lead,
                attendees=attendees(east), by=lead, organization=org,
                notes="Reviewed the week's missed touchpoints and incomplete assessments.",
            )  # fmt: skip
            held += 1
        # The latest session's follow-up, an improvement action linked to it (once).
        if not coaching_follow_ups(session_ids=[session.pk]):
            coaching_follow_up_raise(
                session=session, by=lead, owner=lead, deadline=today + timedelta(days=14),
                title="Pair each new practitioner with an experienced one for first assessments",
            )  # fmt: skip
    context.say(
        f"{held} coaching sessions held (one drift response late); "
        f"{CoachingSession.objects.filter(held_on__isnull=True).count()} to hold"
    )
