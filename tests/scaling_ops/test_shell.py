"""What every organisation page pays before its own work (issue 20): the member read with the
organisation by one written-out query, the menu's and header's links reversed once per
organisation and role. Same members, same links, fewer cycles."""

import pytest
from django.test import override_settings
from django.urls import include, path, reverse

from scaling_ops import urls as project_urls
from scaling_ops.extension_points import navigation
from scaling_ops.middleware import _membership
from scaling_ops.models import Membership, Role
from scaling_ops.navigation import NavItem, navigation_for, shell_links


def test_the_member_is_read_with_the_organisation_as_the_orm_reads_it(personas):
    for user in (personas.admin, personas.supervisor, personas.commissioner):
        expected = Membership.dangerously_unscoped.select_related("organization").get(
            organization__slug="acme", user=user
        )
        membership = _membership("acme", user)
        assert membership.user is user
        assert {f.attname: getattr(membership, f.attname) for f in Membership._meta.fields} == {
            f.attname: getattr(expected, f.attname) for f in Membership._meta.fields
        }
        organization = membership.organization
        assert (organization.pk, organization.slug, organization.name, organization.zone) == (
            personas.org.pk,
            "acme",
            personas.org.name,
            personas.org.zone,
        )
        assert not hasattr(membership, "org_slug")
    assert _membership("acme", personas.outsider) is None
    assert _membership("no-such-org", personas.admin) is None


def test_an_organisation_page_reads_session_user_and_member_in_three_queries(
    personas, django_assert_num_queries
):
    client = personas.client(personas.supervisor)
    # The unread badge: the three, then its own count.
    with django_assert_num_queries(4):
        response = client.get("/o/acme/notices/unread/")
    assert response.status_code == 200


def test_the_request_binds_the_member_and_a_stranger_still_gets_404(personas):
    response = personas.client(personas.lead).get("/o/acme/sites/")
    assert response.wsgi_request.membership.role == Role.IMPLEMENTATION_LEAD
    assert response.wsgi_request.membership.user == personas.lead
    assert response.wsgi_request.organization.slug == "acme"
    assert personas.client(personas.outsider).get("/o/acme/sites/").status_code == 404


class _Page:
    def __init__(self, path: str) -> None:
        self.path = path


PERSONA_OF_ROLE = {
    Role.ORG_ADMIN: "admin",
    Role.IMPLEMENTATION_LEAD: "lead",
    Role.SUPERVISOR: "supervisor",
    Role.COMMISSIONER: "commissioner",
}


@pytest.mark.parametrize("role", Role.values)
def test_the_kept_menu_is_the_menu_reversed_afresh(personas, role):
    user = getattr(personas, PERSONA_OF_ROLE[role])
    membership = Membership.dangerously_unscoped.select_related("organization").get(user=user)
    expected = [
        {
            "label": item.label,
            "url": reverse(item.url_name, kwargs={"org": "acme"}),
            "active": False,
        }
        for item in navigation.providers()
        if role in item.roles
    ]
    for _ in range(2):  # the second from what was kept
        assert navigation_for(_Page("/o/acme/no-such-section/"), membership) == expected


def test_the_menu_follows_its_providers_and_the_url_configuration(personas):
    membership = Membership.dangerously_unscoped.select_related("organization").get(
        user=personas.admin
    )
    page = _Page("/o/acme/sites/")
    navigation_for(page, membership)
    with navigation.overridden(NavItem("Sites", "site_list", Role.values)):
        assert navigation_for(page, membership) == [
            {"label": "Sites", "url": "/o/acme/sites/", "active": True}
        ]
    with override_settings(ROOT_URLCONF=__name__):
        assert shell_links("acme")["org_home"] == "/moved/o/acme/"
        assert navigation_for(_Page("/moved/o/acme/"), membership)[0]["url"] == "/moved/o/acme/"
    assert shell_links("acme") == {
        "org_home": "/o/acme/",
        "search": "/o/acme/search/",
        "notice_inbox": "/o/acme/notices/",
        "notice_unread_badge": "/o/acme/notices/unread/",
        "home": "/",
    }


urlpatterns = [path("moved/", include(project_urls.urlpatterns))]
