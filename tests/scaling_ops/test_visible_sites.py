"""The member's named sites are read by one written-out query (issue 20) that must find exactly
what django-guardian's ``get_objects_for_user`` found before it."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from scaling_ops import services, tenancy
from scaling_ops.models import Membership, Role, Site
from scaling_ops.selectors import visible_site_list, visible_sites
from tests.factories import SiteFactory, UserFactory


def _guardians_sites(user) -> list[str]:
    sites = get_objects_for_user(
        user, "scaling_ops.access_site", klass=Site.objects.all(), accept_global_perms=False
    )
    return list(sites.order_by("code").values_list("code", flat=True))


def _fresh(user) -> Membership:
    """As the middleware loads it for a request: nothing remembered yet."""
    return Membership.objects.select_related("user").get(user=user)


def _read(user) -> tuple[list[str], list[str]]:
    """The codes a request's first read gives, by each of the two readers."""
    listed = [site.code for site in visible_site_list(_fresh(user))]
    queried = sorted(visible_sites(_fresh(user)).values_list("code", flat=True))
    return listed, queried


@pytest.fixture
def east(personas):
    with tenancy.scope(personas.org):
        return SiteFactory(organization=personas.org, code="east")


def _member(personas, username: str, *, sites=(), all_sites: bool = False):
    user = UserFactory(username=username)
    services.membership_set(
        user=user,
        organization=personas.org,
        role=Role.SUPERVISOR,
        all_sites=all_sites,
        sites=list(sites),
    )
    return user


def test_named_sites_are_guardians_sites_for_every_kind_of_member(personas, east):
    with tenancy.scope(personas.org):
        members = {
            "every site named": _member(
                personas, "every", sites=[personas.south, personas.north, east]
            ),
            "two named": _member(personas, "two", sites=[east, personas.north]),
            "none": _member(personas, "none"),
            "all sites flag, none named": _member(personas, "flag", all_sites=True),
        }
        revoked = _member(personas, "revoked", sites=[personas.north, personas.south])
        remove_perm("scaling_ops.access_site", revoked, personas.south)
        members["one revoked"] = revoked
        moved = _member(personas, "moved", sites=[personas.north])
        services.membership_set(
            user=moved, organization=personas.org, role=Role.SUPERVISOR, sites=[east]
        )
        members["sites changed"] = moved
        # A grant on another organisation's site (here under the same id text) never shows.
        elsewhere = _member(personas, "elsewhere", sites=[personas.south])
        assign_perm("scaling_ops.access_site", elsewhere, personas.other_site)
        members["another organisation's site too"] = elsewhere
        # Another permission on a site is not access to it.
        other_perm = _member(personas, "viewer")
        assign_perm("scaling_ops.view_site", other_perm, personas.north)
        members["another permission only"] = other_perm
        in_group = _member(personas, "grouped", sites=[personas.north])
        team = Group.objects.create(name="south team")
        assign_perm("scaling_ops.access_site", team, personas.south)
        in_group.groups.add(team)
        members["one named, one through a group"] = in_group
        superuser = _member(personas, "root")
        superuser.is_superuser = True
        superuser.save(update_fields=["is_superuser"])
        members["superuser, none named"] = superuser

        for label, user in members.items():
            expected = _guardians_sites(user)
            membership = _fresh(user)
            if membership.sees_all_sites:
                expected = ["east", "north", "south"]
            assert _read(user) == (expected, expected), label

    with tenancy.scope(personas.other_org):
        assert _guardians_sites(elsewhere) == ["north"]
        assert [site.pk for site in visible_site_list(_fresh(personas.outsider))] == [
            personas.other_site.pk
        ]


def test_named_sites_need_a_bound_organisation(personas):
    with pytest.raises(tenancy.TenantNotBound):
        visible_site_list(Membership.dangerously_unscoped.get(user=personas.supervisor))
