"""Staff, teams and case assignment."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pathways.models import Case
from scaling_ops.models import Site
from workforce.models import CASELOAD_ROLES, CaseAssignment, StaffMember, StaffRole, Team


def _check_team(team: Team | None, site: Site) -> None:
    if team is not None and team.site_id != site.pk:
        raise ValidationError({"team": f"{team.name} belongs to another site; choose a team here."})


@transaction.atomic
def staff_create(
    *,
    site: Site,
    name: str,
    role: str,
    experience_band: str,
    start_date: date,
    fte=1,
    team: Team | None = None,
    user=None,
    by=None,
    today: date | None = None,
) -> StaffMember:
    """Adds a staff member; a new starter (started in the last onboarding window or starting
    later) gets a "first 30 days" onboarding plan."""
    from workforce.services.authority import standard_or_default
    from workforce.services.training import onboarding_plan_generate

    _check_team(team, site)
    staff = StaffMember(
        site=site, team=team, name=name.strip(), role=role, experience_band=experience_band,
        start_date=start_date, fte=fte, user=user,
    )  # fmt: skip
    staff.full_clean(exclude=["organization"])
    staff._history_user = by
    staff.save()
    today = today or timezone.localdate()
    window = standard_or_default(pathway_id=team.pathway_id if team else None).onboarding_days
    if (today - start_date).days < window:
        onboarding_plan_generate(staff=staff)
    return staff


def staff_update(*, staff: StaffMember, by=None, **fields) -> StaffMember:
    if "team" in fields:
        _check_team(fields["team"], staff.site)
    for name, value in fields.items():
        setattr(staff, name, value)
    staff.full_clean(exclude=["organization"])
    staff._history_user = by
    staff.save()
    return staff


def team_create(*, site: Site, name: str, supervisor: StaffMember | None = None, pathway=None,
                by=None) -> Team:  # fmt: skip
    name = name.strip()
    if Team.objects.filter(site=site, name=name).exists():
        raise ValidationError({"name": f"{site.name} already has a team called {name!r}."})
    team = Team(site=site, name=name, pathway=pathway)
    team._history_user = by
    team.save()
    if supervisor is not None:
        team_set_supervisor(team=team, supervisor=supervisor, by=by)
    return team


def team_set_supervisor(*, team: Team, supervisor: StaffMember | None, by=None) -> Team:
    if supervisor is not None:
        if supervisor.role not in (StaffRole.SUPERVISOR, StaffRole.CLINICAL_LEAD):
            raise ValidationError(
                {"supervisor": f"{supervisor.name} is a {supervisor.get_role_display().lower()}; "
                 "name a supervisor or clinical lead."}
            )  # fmt: skip
        if supervisor.site_id != team.site_id:
            raise ValidationError({"supervisor": "Name a supervisor from the team's own site."})
    team.supervisor = supervisor
    team._history_user = by
    team._change_reason = f"Supervisor: {supervisor.name if supervisor else 'none'}"
    team.save(update_fields=["supervisor"])
    return team


@transaction.atomic
def case_assign(*, case: Case, practitioner: StaffMember, by=None) -> CaseAssignment:
    """Makes ``practitioner`` the case's practitioner; the previous assignment ends."""
    if practitioner.site_id != case.site_id:
        raise ValidationError(
            {"practitioner": f"{practitioner.name} works at another site than case "
             f"{case.external_ref}."}
        )  # fmt: skip
    if practitioner.role not in CASELOAD_ROLES:
        raise ValidationError(
            {"practitioner": "Assign cases to a practitioner or senior practitioner."}
        )
    if practitioner.left_on is not None and practitioner.left_on <= timezone.localdate():
        raise ValidationError({"practitioner": f"{practitioner.name} has left."})
    now = timezone.now()
    current = CaseAssignment.objects.select_for_update().filter(case=case, ended_at__isnull=True)
    for previous in current:
        if previous.practitioner_id == practitioner.pk:
            return previous
        previous.ended_at = now
        previous._history_user = by
        previous.save(update_fields=["ended_at"])
    assignment = CaseAssignment(
        case=case, practitioner=practitioner, assigned_by=by, assigned_at=now
    )
    assignment._history_user = by
    assignment.save()
    return assignment
