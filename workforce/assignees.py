"""The exception queue's practitioners: workforce registers this directory into
``pathways.extension_points.assignee_directories`` so an exception can be assigned to the staff of its site, and the case's
current practitioner (its ``CaseAssignment``) is suggested first."""

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from pathways.assignees import Assignee, Directory
from scaling_ops import tenancy
from scaling_ops.models import Site
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
    """The staff in post today at ``site_ids``, by site code and name: five columns read by one
    written-out query (``_STAFF_AT_SITES``), not a staff member and a site per person, nor a
    statement the ORM builds on every queue page (about 0.6 ms of CPU, twice its run; issue
    20). A test compares it with ``_in_post``'s queryset."""
    if not site_ids:
        return []  # as the ORM: an empty IN is no rows, and no query
    today = connection.ops.adapt_datefield_value(timezone.localdate())
    statement = _STAFF_AT_SITES.format(
        staff=StaffMember._meta.db_table,
        site=Site._meta.db_table,
        sites=", ".join(["%s"] * len(site_ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [tenancy.current_organization_id(), today, today, *site_ids])
        return [_staff_assignee(*row) for row in cursor.fetchall()]


# ``_in_post()`` at the sites, with each one's site name; the site is reached through the
# staff member's own key, as the ORM's join reached it.
_STAFF_AT_SITES = """
SELECT s."id", s."name", s."role", s."site_id", site."name"
FROM "{staff}" s INNER JOIN "{site}" site ON (site."id" = s."site_id")
WHERE s."organization_id" = %s AND s."start_date" <= %s
    AND (s."left_on" IS NULL OR s."left_on" > %s) AND s."site_id" IN ({sites})
ORDER BY site."code", s."name", s."id"
"""


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
