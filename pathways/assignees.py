"""Who an exception can be assigned to.

Pathways knows the organisation's members with a write role (supervisors, implementation leads,
org admins). Apps above it add their own people by registering a ``Directory`` into
``pathways.extension_points.assignee_directories`` (``key=`` its prefix) in ``AppConfig.ready``
(workforce adds each site's staff, and each case's current practitioner as the suggested
assignee); pathways imports none of them.

An item keeps its assignee as text: a key such as ``user:5`` or ``staff:12`` and the name shown.
So pathways holds no reference into the apps above it, and an item's history reads without
joins even after the person has left."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection

from pathways.extension_points import assignee_directories
from scaling_ops import tenancy
from scaling_ops.access import WRITE_ROLES
from scaling_ops.models import Membership


@dataclass(frozen=True)
class Assignee:
    key: str
    name: str
    group: str  # the heading the picker lists them under
    site_ids: frozenset[int] | None = None  # None: may take the exceptions of any site

    def takes(self, site_id: int) -> bool:
        return self.site_ids is None or site_id in self.site_ids


@dataclass(frozen=True)
class Directory:
    prefix: str  # the part of the key before the colon; one directory per prefix
    people: Callable[[list[int]], list[Assignee]]  # who may take exceptions at these sites
    find: Callable[[int], Assignee | None]  # one person by the number after the colon, or None
    # Each case's usual owner (e.g. its practitioner), suggested when assigning: case id -> key.
    case_owners: Callable[[list[int]], dict[int, str]] | None = None


def _write_members():
    return Membership.objects.filter(role__in=WRITE_ROLES).select_related("user")


def _members(site_ids: list[int]) -> list[Assignee]:
    """The members with a write role, by username: two columns read by one written-out query
    (``_MEMBERS``), not a membership and a whole user each, nor a statement the ORM builds on
    every queue page (about 0.4 ms of CPU, twice its run; issue 20). A test compares it with
    ``_write_members``."""
    roles = sorted(WRITE_ROLES)
    with connection.cursor() as cursor:
        cursor.execute(_members_statement(len(roles)), [tenancy.current_organization_id(), *roles])
        return [_assignee(user_id, name) for user_id, name in cursor.fetchall()]


@cache
def _members_statement(roles: int) -> str:
    user = get_user_model()
    username = user._meta.get_field(user.USERNAME_FIELD).column
    return (
        f'SELECT m."user_id", u."{username}" FROM "{Membership._meta.db_table}" m'
        f' INNER JOIN "{user._meta.db_table}" u ON (u."id" = m."user_id")'
        f' WHERE m."organization_id" = %s AND m."role" IN ({", ".join(["%s"] * roles)})'
        f' ORDER BY u."{username}"'
    )


def _find_member(user_id: int) -> Assignee | None:
    membership = _write_members().filter(user_id=user_id).first()
    return _member(membership) if membership else None


def _member(membership: Membership) -> Assignee:
    return _assignee(membership.user_id, membership.user.get_username())


def _assignee(user_id: int, name: str) -> Assignee:
    return Assignee(key=f"user:{user_id}", name=name, group="Supervisors, leads and admins")


def user_key(user) -> str:
    return f"user:{user.pk}"


members = Directory(prefix="user", people=_members, find=_find_member)


def assignees_for_sites(site_ids: Iterable[int]) -> list[Assignee]:
    """Everyone who may take exceptions at any of ``site_ids``, grouped in picker order."""
    site_ids = list(site_ids)
    return [
        person
        for directory in assignee_directories.providers()
        for person in directory.people(site_ids)
    ]


def assignee_find(key: str | None) -> Assignee | None:
    prefix, _, number = (key or "").partition(":")
    directory = next((d for d in assignee_directories.providers() if d.prefix == prefix), None)
    if directory is None or not number.isdigit():
        return None
    return directory.find(int(number))


def case_owner_keys(case_ids: Iterable[int]) -> dict[int, str]:
    case_ids = list(case_ids)
    owners: dict[int, str] = {}
    for directory in assignee_directories.providers():
        if directory.case_owners is not None and case_ids:
            owners.update(directory.case_owners(case_ids))
    return owners
