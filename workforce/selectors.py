"""Reads for the workforce pages, narrowed to the member's visible sites: a missing row and one
outside them look the same (None -> 404)."""

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from pathways.models import Case
from scaling_ops.models import Membership, Site
from scaling_ops.selectors import visible_sites
from workforce.models import (
    CASELOAD_ROLES,
    CaseAssignment,
    CaseDecision,
    CheckKind,
    ChecklistItem,
    LaunchDecision,
    ReadinessAttestation,
    ReviewSample,
    StaffMember,
    SupervisionSession,
    Team,
    TrainingCompletion,
    WorkforceCheckFigure,
    WorkforceCheckRun,
    WorkforceException,
)

PAGE_SIZE = 50
TREND_DAYS = 60


def today_for(membership: Membership) -> date:
    return timezone.localdate(timezone=membership.organization.zone)


def sites_for(membership: Membership) -> list[Site]:
    return list(visible_sites(membership).order_by("code"))


def site_summaries(*, membership: Membership) -> list[dict]:
    """Per visible site: staff in post, teams, open workforce exceptions (fixed query count)."""
    sites = sites_for(membership)
    ids = [s.pk for s in sites]
    today = today_for(membership)
    staff = dict(
        StaffMember.objects.filter(site_id__in=ids, start_date__lte=today)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=today))
        .values("site_id").annotate(n=Count("id")).values_list("site_id", "n")
    )  # fmt: skip
    teams = dict(
        Team.objects.filter(site_id__in=ids).values("site_id").annotate(n=Count("id"))
        .values_list("site_id", "n")
    )  # fmt: skip
    open_by_site = defaultdict(dict)
    for site_id, kind, n in (
        WorkforceException.objects.filter(site_id__in=ids, status=WorkforceException.Status.OPEN)
        .values("site_id", "kind").annotate(n=Count("id")).values_list("site_id", "kind", "n")
    ):  # fmt: skip
        open_by_site[site_id][kind] = n
    return [
        {
            "site": site,
            "staff": staff.get(site.pk, 0),
            "teams": teams.get(site.pk, 0),
            "open": sum(open_by_site[site.pk].values()),
            "by_kind": open_by_site[site.pk],
            "counts": [open_by_site[site.pk].get(kind, 0) for kind in CheckKind.values],
        }
        for site in sites
    ]


def latest_run() -> WorkforceCheckRun | None:
    return WorkforceCheckRun.objects.order_by("-date").first()


def caseload_flags(*, run: WorkforceCheckRun, site_ids, limit: int = PAGE_SIZE):
    """(the first ``limit`` of the run's practitioners above the maximum caseload at
    ``site_ids``, most cases first within each site, as {"site_name", "practitioner_name",
    "cases", "limit"}; how many there are in all): one query, and a count only when there are
    more than ``limit``. Plain values: the queue asks on every page."""
    flags = run.caseload_flags.filter(site_id__in=site_ids)
    first = list(
        flags.order_by("site__code", "-cases", "practitioner__name", "id").values(
            "cases", "limit", site_name=F("site__name"), practitioner_name=F("practitioner__name")
        )[: limit + 1]
    )
    if len(first) <= limit:
        return first, len(first)
    return first[:limit], flags.count()


def site_staff(*, site: Site, team: str = "", role: str = "") -> QuerySet[StaffMember]:
    staff = StaffMember.objects.filter(site=site).select_related("team", "user")
    if team == "none":
        staff = staff.filter(team__isnull=True)
    elif team:
        staff = staff.filter(team_id=team)
    if role:
        staff = staff.filter(role=role)
    return staff.order_by("left_on", "team__name", "name")


def site_teams(*, site: Site, day: date) -> list[dict]:
    """Teams with their supervisor, caseload holders in post and experienced share."""
    teams = list(Team.objects.filter(site=site).select_related("supervisor", "pathway"))
    counts = defaultdict(lambda: [0, 0])
    for team_id, band in (
        StaffMember.objects.filter(site=site, role__in=CASELOAD_ROLES, start_date__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .values_list("team_id", "experience_band")
    ):
        counts[team_id][0] += 1
        counts[team_id][1] += band == "experienced"
    return [
        {
            "team": team,
            "practitioners": counts[team.pk][0],
            "experienced": counts[team.pk][1],
            "share": counts[team.pk][1] / counts[team.pk][0] if counts[team.pk][0] else None,
        }
        for team in teams
    ]


def open_exceptions(*, sites, kind: str = "") -> QuerySet[WorkforceException]:
    rows = WorkforceException.objects.filter(
        site__in=sites, status=WorkforceException.Status.OPEN
    ).select_related("site")
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("site__code", "kind", "first_seen_on", "subject")


def exception_for_member(*, membership: Membership, pk: int) -> WorkforceException | None:
    return (
        WorkforceException.objects.filter(pk=pk, site__in=visible_sites(membership))
        .select_related("site")
        .first()
    )


def trend_figures(*, site: Site, until: date, days: int = TREND_DAYS) -> dict[str, list]:
    """kind -> [(date, failing, checked)] over the last ``days`` computed days."""
    rows = (
        WorkforceCheckFigure.objects.filter(
            site=site, run__date__gt=until - timedelta(days=days), run__date__lte=until
        )
        .order_by("run__date")
        .values_list("kind", "run__date", "failing", "checked")
    )
    series = {kind: [] for kind in CheckKind.values}
    for kind, day, failing, checked in rows:
        series[kind].append((day, failing, checked))
    return series


def staff_for_member(*, membership: Membership, pk: int) -> StaffMember | None:
    return (
        StaffMember.objects.filter(pk=pk, site__in=visible_sites(membership))
        .select_related("site", "team", "team__supervisor", "user")
        .first()
    )


def team_for_member(*, membership: Membership, pk: int) -> Team | None:
    return (
        Team.objects.filter(pk=pk, site__in=visible_sites(membership))
        .select_related("site", "supervisor")
        .first()
    )


def staff_completions(*, staff: StaffMember) -> QuerySet[TrainingCompletion]:
    return staff.completions.select_related("module", "signed_off_by").order_by("-completed_on")


def staff_sessions(*, staff: StaffMember) -> QuerySet[SupervisionSession]:
    return (
        SupervisionSession.objects.filter(Q(staff=staff) | Q(supervisor=staff))
        .select_related("supervisor", "staff")
        .annotate(case_count=Count("reviews"))
        .order_by("-held_on")
    )


def supervisors_for(*, membership: Membership) -> QuerySet[StaffMember]:
    """Supervisors (and clinical leads) in the member's sites; a supervisor user sees their own
    staff records first."""
    return (
        StaffMember.objects.filter(
            site__in=visible_sites(membership), role__in=["supervisor", "clinical_lead"]
        )
        .filter(left_on__isnull=True)
        .select_related("site")
        .order_by("site__code", "name")
    )


def review_samples(*, membership: Membership) -> QuerySet[ReviewSample]:
    return (
        ReviewSample.objects.filter(supervisor__site__in=visible_sites(membership))
        .select_related("supervisor", "supervisor__site", "drawn_by")
        .annotate(drawn=Count("cases"))
        .order_by("-week_start", "supervisor__name")
    )


def review_sample_for_member(*, membership: Membership, pk: int) -> ReviewSample | None:
    return (
        ReviewSample.objects.filter(pk=pk, supervisor__site__in=visible_sites(membership))
        .select_related("supervisor", "drawn_by")
        .first()
    )


def assignments(*, membership: Membership, site: str = "", practitioner: str = ""):
    rows = CaseAssignment.objects.filter(
        ended_at__isnull=True, case__site__in=visible_sites(membership)
    ).select_related("case", "case__site", "practitioner", "assigned_by")
    if site:
        rows = rows.filter(case__site__code=site)
    if practitioner:
        rows = rows.filter(practitioner_id=practitioner)
    return rows.order_by("case__site__code", "practitioner__name", "case__external_ref")


def case_for_member(*, membership: Membership, ref: str) -> Case | None:
    return (
        Case.objects.filter(external_ref=ref, site__in=visible_sites(membership))
        .select_related("site", "version", "version__pathway")
        .first()
    )


def case_workforce(*, case: Case) -> dict:
    return {
        "assignments": CaseAssignment.objects.filter(case=case)
        .select_related("practitioner", "assigned_by")
        .order_by("-assigned_at"),
        "decisions": CaseDecision.objects.filter(case=case).select_related("by"),
    }


def readiness_history(*, site: Site) -> list[dict]:
    """Sign-offs, withdrawals and go-live decisions, newest first."""
    events = []
    rows = list(
        ReadinessAttestation.objects.filter(site=site).select_related("attested_by", "withdrawn_by")
    )
    # A sign-off is keyed by its item's key so it carries across checklist versions; people read
    # the title, the newest version's where the wording changed.
    titles = dict(
        ChecklistItem.objects.filter(key__in={row.item_key for row in rows})
        .order_by("template__version")
        .values_list("key", "title")
    )
    for row in rows:
        title = titles.get(row.item_key, row.item_key)
        events.append({"at": row.attested_at, "who": row.attested_by, "what": "Signed off",
                       "item": title, "text": row.evidence, "attestation": row})  # fmt: skip
        if row.withdrawn_at:
            events.append({"at": row.withdrawn_at, "who": row.withdrawn_by, "what": "Withdrawn",
                           "item": title, "text": "", "attestation": row})  # fmt: skip
    for decision in LaunchDecision.objects.filter(site=site).select_related("by", "template"):
        what = "Override: went live" if decision.override_reason else "Went live"
        text = decision.override_reason
        if decision.failing_items:
            text += " — failing then: " + "; ".join(decision.failing_items)
        events.append({"at": decision.decided_at, "who": decision.by, "what": what,
                       "item": str(decision.template or ""), "text": text})  # fmt: skip
    return sorted(events, key=lambda e: e["at"], reverse=True)


def readiness_evidence_get(*, site: Site, pk: int) -> ReadinessAttestation | None:
    """A sign-off at ``site`` that carries a file (withdrawn ones too: they stay evidence)."""
    return ReadinessAttestation.objects.filter(site=site, pk=pk).exclude(evidence_file="").first()
