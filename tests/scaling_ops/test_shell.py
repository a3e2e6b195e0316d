"""What every organisation page pays before its own work (issue 20): the menu's and header's
links reversed once per organisation and role. Same links, fewer cycles."""

import pytest
from django.test import override_settings
from django.urls import include, path, reverse

from scaling_ops import urls as project_urls
from scaling_ops.extension_points import navigation
from scaling_ops.models import Membership, Role
from scaling_ops.navigation import NavItem, navigation_for, shell_links


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
