import pytest

from scaling_ops import tenancy
from scaling_ops.celery import TenantTask, app
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantNotBound


def test_querying_a_scoped_model_without_a_tenant_raises(personas):
    with pytest.raises(TenantNotBound):
        list(Site.objects.all())


def test_scope_shows_only_the_bound_organisations_rows(personas):
    with tenancy.scope(personas.org):
        assert set(Site.objects.values_list("code", flat=True)) == {"north", "south"}
    with tenancy.scope(personas.other_org):
        assert list(Site.objects.values_list("organization_id", flat=True)) == [
            personas.other_org.pk
        ]


def test_get_by_primary_key_cannot_cross_tenants(personas):
    with tenancy.scope(personas.org), pytest.raises(Site.DoesNotExist):
        Site.objects.get(pk=personas.other_site.pk)


def test_new_rows_take_the_bound_organisation(personas):
    with tenancy.scope(personas.org):
        site = Site.objects.create(code="east", name="East")
    assert site.organization_id == personas.org.pk


def test_saving_another_tenants_row_inside_a_scope_raises(personas):
    with tenancy.scope(personas.org), pytest.raises(TenantNotBound):
        personas.other_site.save()


def test_scope_is_restored_after_the_block(personas):
    with tenancy.scope(personas.org):
        with tenancy.scope(personas.other_org):
            pass
        assert tenancy.bound_organization_id() == personas.org.pk
    assert tenancy.bound_organization_id() is None


@app.task(base=TenantTask, name="tests.count_sites")
def count_sites(*, organization_id: int) -> list[str]:
    return sorted(Site.objects.values_list("code", flat=True))


def test_tenant_task_reenters_the_scope_from_the_id(personas):
    result = count_sites.delay(organization_id=personas.other_org.pk).get()
    assert result == ["north"]
    assert tenancy.bound_organization_id() is None


def test_work_for_one_organisation_is_refused_inside_another_and_says_which(personas):
    from scaling_ops.tenancy import refuse_another_organization

    refuse_another_organization(personas.org.pk, doing="compute")  # nothing bound: allowed
    with tenancy.scope(personas.org):
        refuse_another_organization(personas.org.pk, doing="compute")  # its own: allowed
        with pytest.raises(TenantNotBound) as caught:
            refuse_another_organization(personas.other_org.pk, doing="evaluate contracts")
    assert str(caught.value) == (
        f"Refusing to evaluate contracts inside the scope of organisation {personas.org.pk}."
    )


def test_contracts_of_another_organisation_are_not_evaluated_inside_a_scope(personas):
    from datetime import date

    from assurance.contracts.services import contract_terms_evaluate

    with tenancy.scope(personas.org), pytest.raises(TenantNotBound, match="contracts"):
        contract_terms_evaluate(organization=personas.other_org, month=date(2026, 3, 1))


def test_a_members_named_sites_are_read_with_their_ids_in_one_query(
    personas, django_assert_num_queries
):
    from scaling_ops import services
    from scaling_ops.models import Membership, Role
    from scaling_ops.selectors import visible_site_list, visible_sites

    with tenancy.scope(personas.org):
        services.membership_set(
            user=personas.supervisor,
            organization=personas.org,
            role=Role.SUPERVISOR,
            sites=[personas.south, personas.north],
        )
        member = Membership.objects.select_related("user")
        membership = member.get(user=personas.supervisor)  # as a request loads it afresh
        with django_assert_num_queries(1):
            sites = visible_site_list(membership)
            later = visible_sites(membership)  # the ids are kept: no permission query
        assert [site.code for site in sites] == ["north", "south"]
        assert set(later) == {personas.north, personas.south}
        everyone = Membership.objects.select_related("user").get(user=personas.admin)
        assert [site.code for site in visible_site_list(everyone)] == ["north", "south"]
