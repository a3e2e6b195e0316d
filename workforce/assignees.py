"""The exception queue's practitioners: workforce registers this directory into
``pathways.extension_points.assignee_directories`` so an exception can be assigned to the staff of its site, and the case's
current practitioner (its ``CaseAssignment``) is suggested first."""

from django.db.models import Q
from django.utils import timezone

from pathways.assignees import Assignee, Directory
from workforce.models import CaseAssignment, StaffMember


def _in_post():
    today = timezone.localdate()
    return StaffMember.objects.filter(start_date__lte=today).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=today)
    )


def _staff_key(staff_id: int) -> str:
    return f"staff:{staff_id}"


def _assignee(staff: StaffMember) -> Assignee:
    return _staff_assignee(staff.pk, staff.name, staff.role, staff.site_id, staff.site.name)


def _staff_assignee(pk: int, name: str, role: str, site_id: int, site_name: str) -> Assignee:
    return Assignee(
        key=_staff_key(pk),
        name=f"{name} ({ROLE_LABELS.get(role, role)})",
        group=f"Staff at {site_name}",
        site_ids=frozenset({site_id}),
    )


ROLE_LABELS = dict(StaffMember._meta.get_field("role").flatchoices)


def staff_at_sites(site_ids: list[int]) -> list[Assignee]:
    # Five columns, not a staff member and a site per person: the queue asks on every page.
    staff = _in_post().filter(site_id__in=site_ids).order_by("site__code", "name", "pk")
    return [
        _staff_assignee(*row)
        for row in staff.values_list("pk", "name", "role", "site_id", "site__name")
    ]


def staff_find(staff_id: int) -> Assignee | None:
    staff = _in_post().filter(pk=staff_id).select_related("site").first()
    return _assignee(staff) if staff else None


def case_practitioners(case_ids: list[int]) -> dict[int, str]:
    return {
        case_id: _staff_key(practitioner_id)
        for case_id, practitioner_id in CaseAssignment.objects.filter(
            case_id__in=case_ids, ended_at__isnull=True
        ).values_list("case_id", "practitioner_id")
    }


directory = Directory(
    prefix="staff", people=staff_at_sites, find=staff_find, case_owners=case_practitioners
)
