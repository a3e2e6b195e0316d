"""The daily workforce integrity checks for an organisation-local date D.

Each check looks at the data as it stood on D (staff in post on D, sessions held and training
completed by D) and yields one result per subject (a person, a team or a supervisor):

- supervision overdue: a caseload holder's days since their last session (or since starting)
  exceed the standard's interval (exactly the interval is on time);
- skill mix below minimum: a team's share of experienced caseload holders is below the
  minimum (exactly the minimum passes);
- supervisor span exceeded: caseload holders in the teams a supervisor leads exceed the
  maximum (exactly the maximum passes);
- core training missing or expired: someone past their onboarding window without a valid
  completion of every core module on D (a completion is valid up to and including its expiry);
- onboarding behind: onboarding tasks due before D and not done by D;
- coaching overdue: a launching or drifting site (a drift response's extra supervision covers
  D) whose last case-based coaching session is older than the standard's coaching interval,
  and a coaching session a drift response scheduled that is past its date and not held.

A drift response's extra supervision (``SupervisionOverride``) shortens the supervision
interval of the site's caseload holders on the days it covers.

Failing results become ``WorkforceException`` rows keyed by (kind, subject) so a re-run finds the
same row and keeps its triage; an open one whose check passes is closed automatically. Per-site
counts are stored per day for the trend charts. Reads are a fixed handful of queries."""

import time as clock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from pathways import triage
from scaling_ops.models import Organization, Site
from workforce.coaching.models import CoachingSession, SupervisionOverride
from workforce.models import (
    CASELOAD_ROLES,
    CaseloadFlag,
    CheckKind,
    OnboardingTask,
    StaffMember,
    SupervisionSession,
    Team,
    TrainingCompletion,
    TrainingModule,
    WorkforceCheckFigure,
    WorkforceCheckRun,
    WorkforceException,
    WorkforceStandard,
)
from workforce.pressure import above_maximum_on

EPSILON = 1e-9


@dataclass
class Result:
    site_id: int
    kind: str
    subject_key: str
    subject: str
    failing: bool
    detail: str = ""
    measured: float | None = None
    threshold: float | None = None


class Standards:
    """The standard for a team's pathway, else the organisation's, else the defaults."""

    def __init__(self):
        self.by_pathway = {s.pathway_id: s for s in WorkforceStandard.objects.all()}
        self.default = self.by_pathway.get(None) or WorkforceStandard()

    def for_pathway(self, pathway_id) -> WorkforceStandard:
        return self.by_pathway.get(pathway_id) or self.default


def staff_in_post(day: date):
    return StaffMember.objects.filter(start_date__lte=day).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=day)
    )


def valid_completions(day: date) -> dict[int, set[int]]:
    """staff id -> ids of modules with a completion valid on ``day``."""
    valid = defaultdict(set)
    rows = (
        TrainingCompletion.objects.filter(completed_on__lte=day)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=day))
        .values_list("staff_id", "module_id")
    )
    for staff_id, module_id in rows:
        valid[staff_id].add(module_id)
    return valid


@dataclass
class _Roster:
    """Who is in post on the day, their teams and the standards that apply to them: what every
    check reads, loaded once."""

    day: date
    staff: list
    teams: dict
    standards: Standards
    overrides: dict  # site id -> the extra-supervision interval covering the day

    @property
    def caseload(self) -> list:
        return [s for s in self.staff if s.role in CASELOAD_ROLES]

    def standard_of(self, person) -> WorkforceStandard:
        team = self.teams.get(person.team_id)
        return self.standards.for_pathway(team.pathway_id if team else None)

    def team_members(self) -> dict[int, list]:
        members = defaultdict(list)
        for person in self.caseload:
            if person.team_id in self.teams:
                members[person.team_id].append(person)
        return members


def check_results(*, day: date, site_ids=None) -> list[Result]:
    staff_qs = staff_in_post(day)
    teams_qs = Team.objects.all()
    if site_ids is not None:
        staff_qs = staff_qs.filter(site_id__in=site_ids)
        teams_qs = teams_qs.filter(site_id__in=site_ids)
    roster = _Roster(
        day=day,
        staff=list(staff_qs),
        teams={team.pk: team for team in teams_qs},
        standards=Standards(),
        overrides=_override_intervals(roster_day=day, site_ids=site_ids),
    )
    return [
        *_supervision_results(roster),
        *_skill_mix_results(roster),
        *_span_results(roster),
        *_training_results(roster),
        *_onboarding_results(roster),
        *_coaching_results(roster, site_ids),
    ]


def _override_intervals(*, roster_day: date, site_ids) -> dict[int, int]:
    rows = SupervisionOverride.objects.filter(starts_on__lte=roster_day, ends_on__gte=roster_day)
    if site_ids is not None:
        rows = rows.filter(site_id__in=site_ids)
    intervals: dict[int, int] = {}
    for site_id, interval in rows.values_list("site_id", "interval_days"):
        intervals[site_id] = min(interval, intervals.get(site_id, interval))
    return intervals


def _coaching_results(roster: _Roster, site_ids) -> list[Result]:
    """Coaching overdue: the weekly cadence of launching and drifting sites, and sessions a
    drift response scheduled that are past their date."""
    day = roster.day
    sites = Site.objects.all() if site_ids is None else Site.objects.filter(pk__in=site_ids)
    cadence = [
        site
        for site in sites
        if site.status == Site.Status.LAUNCHING or site.pk in roster.overrides
    ]
    interval = roster.standards.default.coaching_interval_days
    last = dict(
        CoachingSession.objects.filter(held_on__lte=day, site__in=cadence)
        .values("site_id")
        .annotate(last=Max("held_on"))
        .values_list("site_id", "last")
    )
    results = []
    for site in cadence:
        held = last.get(site.pk)
        days = (day - held).days if held else None
        why = "drifting" if site.pk in roster.overrides else "launching"
        results.append(
            Result(
                site.pk, CheckKind.COACHING, f"site:{site.pk}", site.name,
                days is None or days > interval,
                (f"{days} days since the last coaching session" if held else "No coaching session held yet")
                + f" ({why}; standard: every {interval} days)",
                days, interval,
            )
        )  # fmt: skip
    scheduled = CoachingSession.objects.filter(
        held_on__isnull=True, due_on__isnull=False, due_on__lt=day, site__in=list(sites)
    )
    for session in scheduled:
        late = (day - session.due_on).days
        results.append(
            Result(
                session.site_id, CheckKind.COACHING, f"coaching:{session.pk}",
                session.source_label or "Scheduled coaching session", True,
                f"Due on {session.due_on:%-d %B}, not held ({late} days late)", late, 0,
            )
        )  # fmt: skip
    return results


def _supervision_results(roster: _Roster) -> list[Result]:
    """Supervision overdue: caseload holders, against their standard's interval."""
    caseload = roster.caseload
    last_session = dict(
        SupervisionSession.objects.filter(
            held_on__lte=roster.day, staff__in=[s.pk for s in caseload]
        )
        .values("staff_id")
        .annotate(last=Max("held_on"))
        .values_list("staff_id", "last")
    )
    results = []
    for person in caseload:
        interval = roster.standard_of(person).supervision_interval_days
        extra = roster.overrides.get(person.site_id)
        if extra is not None and extra < interval:
            interval, rule = extra, f"extra supervision after drift: every {extra} days"
        else:
            rule = f"standard: every {interval} days"
        since = last_session.get(person.pk) or person.start_date
        days = (roster.day - since).days
        results.append(
            Result(
                person.site_id, CheckKind.SUPERVISION_OVERDUE, f"staff:{person.pk}", person.name,
                days > interval,
                f"{days} days since {'last supervision' if person.pk in last_session else 'starting, no supervision yet'}"
                f" ({rule})",
                days, interval,
            )
        )  # fmt: skip
    return results


def _skill_mix_results(roster: _Roster) -> list[Result]:
    """Skill mix per team: the share of experienced caseload holders against the minimum."""
    members = roster.team_members()
    results = []
    for team in roster.teams.values():
        people = members.get(team.pk, [])
        if not people:
            continue
        minimum = roster.standards.for_pathway(team.pathway_id).min_experienced_share
        experienced = sum(1 for p in people if p.is_experienced)
        share = experienced / len(people)
        results.append(
            Result(
                team.site_id, CheckKind.SKILL_MIX, f"team:{team.pk}", team.name,
                share < minimum - EPSILON,
                f"{experienced} of {len(people)} experienced ({share:.0%}; minimum {minimum:.0%})",
                round(share, 4), minimum,
            )
        )  # fmt: skip
    return results


def _span_results(roster: _Roster) -> list[Result]:
    """Span per supervisor in post: practitioners across the teams they lead."""
    members = roster.team_members()
    span = defaultdict(list)
    for team in roster.teams.values():
        if team.supervisor_id:
            span[team.supervisor_id].append(team)
    supervisors = {s.pk: s for s in roster.staff}
    results = []
    for supervisor_id, led in span.items():
        supervisor = supervisors.get(supervisor_id)
        if supervisor is None:  # not in post on the day
            continue
        count = sum(len(members.get(team.pk, [])) for team in led)
        maximum = min(
            roster.standards.for_pathway(t.pathway_id).max_practitioners_per_supervisor for t in led
        )
        results.append(
            Result(
                supervisor.site_id, CheckKind.SPAN, f"staff:{supervisor.pk}", supervisor.name,
                count > maximum,
                f"{count} practitioners across {', '.join(sorted(t.name for t in led))} "
                f"(maximum {maximum})",
                count, maximum,
            )
        )  # fmt: skip
    return results


def _training_results(roster: _Roster) -> list[Result]:
    """Core training valid, once a person is past the onboarding window."""
    core = {m.pk: m for m in TrainingModule.objects.filter(kind=TrainingModule.Kind.CORE)}
    valid = valid_completions(roster.day)
    results = []
    for person in roster.staff:
        window = roster.standard_of(person).onboarding_days
        if not core or (roster.day - person.start_date).days <= window:
            continue
        missing = [core[pk].name for pk in sorted(core) if pk not in valid[person.pk]]
        results.append(
            Result(
                person.site_id, CheckKind.TRAINING, f"staff:{person.pk}", person.name,
                bool(missing),
                ("Missing or expired: " + ", ".join(missing)) if missing else "All core modules valid",
                len(missing), 0,
            )
        )  # fmt: skip
    return results


def _onboarding_results(roster: _Roster) -> list[Result]:
    """Onboarding behind: tasks due before the day and not done by it."""
    day = roster.day
    in_post = {s.pk: s for s in roster.staff}
    behind = defaultdict(list)
    with_plan = set()
    for staff_id, due_on, done_on, title in OnboardingTask.objects.filter(
        plan__staff_id__in=list(in_post), plan__starts_on__lte=day
    ).values_list("plan__staff_id", "due_on", "done_on", "title"):
        with_plan.add(staff_id)
        if due_on < day and (done_on is None or done_on > day):
            behind[staff_id].append(title)
    results = []
    for staff_id in sorted(with_plan):
        person = in_post[staff_id]
        late = behind.get(staff_id, [])
        results.append(
            Result(
                person.site_id, CheckKind.ONBOARDING, f"staff:{staff_id}", person.name,
                bool(late),
                f"{len(late)} onboarding task{'s' if len(late) != 1 else ''} overdue"
                + (f": {late[0]}" + (" …" if len(late) > 1 else "") if late else ""),
                len(late), 0,
            )
        )  # fmt: skip
    return results


@transaction.atomic
def workforce_checks_compute(
    *, organization: Organization, date: date, progress: Callable[[int, int], None] | None = None
) -> WorkforceCheckRun:
    """Computes and stores date D's checks for the bound organisation (idempotent), with the
    practitioners above the maximum caseload at D's end (the exception queue's panel)."""
    started = clock.monotonic()
    sites = list(Site.objects.order_by("code"))
    results: list[Result] = []
    for index, site in enumerate(sites, start=1):
        results.extend(check_results(day=date, site_ids=[site.pk]))
        if progress:
            progress(index, len(sites))
    run, _ = WorkforceCheckRun.objects.get_or_create(
        date=date, defaults={"computed_at": timezone.now()}
    )
    figures = defaultdict(lambda: [0, 0])
    for result in results:
        figure = figures[(result.site_id, result.kind)]
        figure[0] += 1
        figure[1] += int(result.failing)
    run.figures.all().delete()
    WorkforceCheckFigure.objects.bulk_create(
        WorkforceCheckFigure(
            organization_id=organization.pk, run=run, site_id=site_id, kind=kind,
            checked=checked, failing=failing,
        )
        for (site_id, kind), (checked, failing) in sorted(figures.items())
    )  # fmt: skip
    _persist_exceptions(organization, date, results)
    run.caseload_flags.all().delete()
    CaseloadFlag.objects.bulk_create(
        CaseloadFlag(
            organization_id=organization.pk, run=run, site=row["site"],
            practitioner_id=row["practitioner_id"], cases=row["cases"], limit=row["limit"],
        )
        for row in above_maximum_on(sites=sites, day=date, zone=organization.zone)
    )  # fmt: skip
    run.failing = sum(1 for r in results if r.failing)
    run.computed_at = timezone.now()
    run.duration_ms = int((clock.monotonic() - started) * 1000)
    run.save(update_fields=["failing", "computed_at", "duration_ms"])
    return run


def _persist_exceptions(organization, day: date, results: list[Result]) -> None:
    existing = {
        (row.kind, row.subject_key): row
        for row in WorkforceException.objects.filter(status=WorkforceException.Status.OPEN)
    }
    # An accepted deviation covers the subject while it keeps failing day after day.
    accepted = {
        (row.kind, row.subject_key): row
        for row in WorkforceException.objects.filter(
            status=WorkforceException.Status.ACCEPTED,
            last_seen_on__gte=day - timedelta(days=1),
        )
    }
    failing_keys = set()
    for result in results:
        key = (result.kind, result.subject_key)
        if not result.failing:
            continue
        failing_keys.add(key)
        row = existing.get(key) or accepted.get(key)
        if row is None:
            row = WorkforceException(
                site_id=result.site_id, kind=result.kind, subject_key=result.subject_key,
                first_seen_on=day, last_seen_on=day,
            )  # fmt: skip
        row.subject = result.subject[:200]
        row.detail = result.detail[:300]
        row.measured = result.measured
        row.threshold = result.threshold
        row.first_seen_on = min(row.first_seen_on, day)
        row.last_seen_on = max(row.last_seen_on, day)
        row._change_reason = f"Workforce checks {day}"
        row.save()
    for key, row in existing.items():
        if key in failing_keys or row.last_seen_on > day:
            continue
        row.status = WorkforceException.Status.RESOLVED
        row.closed_automatically = True
        row.note = f"The check passed on {day}."
        row._change_reason = f"Passed on {day}: closed automatically"
        row.save(update_fields=["status", "closed_automatically", "note", "updated_at"])


def _close(
    row: WorkforceException, *, closing: triage.Closing, by, note: str
) -> WorkforceException:
    row.status = closing.status
    row.note = note
    row._history_user = by
    row._change_reason = closing.history_reason
    row.save(update_fields=["status", "note", "updated_at"])
    return row


def workforce_exception_resolve(*, row: WorkforceException, by, note: str) -> WorkforceException:
    triage.check_open(row)
    note = triage.RESOLVE.text(note)
    return _close(row, closing=triage.RESOLVE, by=by, note=note)


def workforce_exception_accept(*, row: WorkforceException, by, reason: str) -> WorkforceException:
    """Accepting a workforce deviation follows the decision-authority matrix too."""
    from workforce.models import Decision
    from workforce.services.authority import authority_refusals

    triage.check_open(row)
    reason = triage.ACCEPT.text(reason)
    refusals = authority_refusals(
        decision=Decision.ACCEPT_DEVIATION, by=by, site=row.site, pathway_id=None
    )
    if refusals:
        raise ValidationError(refusals)
    return _close(row, closing=triage.ACCEPT, by=by, note=reason)
