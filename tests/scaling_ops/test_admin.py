"""The Django admin works across tenants for superusers: every registered model's list, add and
change pages render with no tenant bound (their dropdowns read through the unscoped manager)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import UserFactory
from tests.pathways.exception_helpers import build_version, overdue_case
from workforce.models import Team


@pytest.fixture
def superuser_client(client, personas):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def _registered():
    return sorted(admin.site._registry.items(), key=lambda pair: pair[0]._meta.label)


@pytest.fixture
def some_rows(personas, tenant):
    """A case, a team (foreign key to a site) and the personas' memberships (sites, many to
    many) to open change pages of."""
    version = build_version()
    overdue_case(version, personas.north, "C1")
    Team.objects.create(site=personas.north, name="North team")


@pytest.mark.parametrize(
    "model", [model for model, _ in _registered()], ids=lambda m: m._meta.label
)
def test_admin_list_and_add_pages_render_without_a_tenant(superuser_client, model):
    info = (model._meta.app_label, model._meta.model_name)
    assert superuser_client.get(reverse("admin:{}_{}_changelist".format(*info))).status_code == 200
    add = superuser_client.get(reverse("admin:{}_{}_add".format(*info)))
    assert add.status_code in (200, 403)  # read-only evidence refuses adding


def test_admin_change_pages_render_without_a_tenant(superuser_client, some_rows):
    opened = []
    for model, _ in _registered():
        row = model._base_manager.order_by("pk").first()
        if row is None:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        response = superuser_client.get(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
        assert response.status_code == 200, model._meta.label
        opened.append(model._meta.label)
    assert {"workforce.Team", "scaling_ops.Membership", "scaling_ops.Site"} <= set(opened)


def test_admin_adds_a_tenant_owned_row_choosing_among_tenant_owned_rows(superuser_client, personas):
    response = superuser_client.post(
        reverse("admin:workforce_team_add"),
        {"organization": personas.org.pk, "site": personas.north.pk, "name": "Night team"},
    )

    assert response.status_code == 302
    team = Team.dangerously_unscoped.get(name="Night team")
    assert (team.organization_id, team.site_id) == (personas.org.pk, personas.north.pk)
