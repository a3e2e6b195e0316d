"""Django admin for superusers. Admin works across tenants, so it reads through the unscoped
manager on purpose."""

from contextlib import nullcontext

from django import forms
from django.contrib import admin
from django.utils.text import capfirst
from simple_history.admin import SimpleHistoryAdmin

from scaling_ops import tenancy
from scaling_ops.login import SlowedAdminLoginForm
from scaling_ops.models import Invitation, Membership, Organization, PartnerKey, Site


class TenantRowForm(forms.ModelForm):
    """Validates a tenant-owned row (its unique constraints read the table) inside the scope of
    the organisation chosen on the form or already on the row."""

    def _post_clean(self):
        organization = self.cleaned_data.get("organization") or self.instance.organization_id
        with tenancy.scope(organization) if organization else nullcontext():
            super()._post_clean()


class UnscopedAdmin(SimpleHistoryAdmin):
    form = TenantRowForm

    def get_queryset(self, request):
        return self.model.dangerously_unscoped.all()

    # Choices of tenant-owned rows (sites, staff, actions) in add and change forms, read through
    # the unscoped manager: the model field's own formfield() reads the default manager first,
    # which refuses with no organisation bound.
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not _tenant_owned(db_field):
            return super().formfield_for_foreignkey(db_field, request, **kwargs)
        return forms.ModelChoiceField(
            **_unscoped_choices(db_field, kwargs),
            to_field_name=db_field.remote_field.field_name,
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if not _tenant_owned(db_field):
            return super().formfield_for_manytomany(db_field, request, **kwargs)
        return forms.ModelMultipleChoiceField(**_unscoped_choices(db_field, kwargs))


def _tenant_owned(db_field) -> bool:
    return hasattr(db_field.related_model, "dangerously_unscoped")


def _unscoped_choices(db_field, kwargs: dict) -> dict:
    return {
        "queryset": db_field.related_model.dangerously_unscoped.all(),
        "required": not db_field.blank,
        "label": capfirst(db_field.verbose_name),
        "help_text": db_field.help_text,
        **kwargs,
    }


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "time_zone"]
    search_fields = ["slug", "name"]


@admin.register(Site)
class SiteAdmin(UnscopedAdmin):
    list_display = ["code", "name", "organization", "status", "region"]
    list_filter = ["organization", "status"]


@admin.register(Membership)
class MembershipAdmin(UnscopedAdmin):
    list_display = ["user", "organization", "role", "all_sites"]
    list_filter = ["organization", "role"]


@admin.register(PartnerKey)
class PartnerKeyAdmin(UnscopedAdmin):
    list_display = ["name", "organization", "prefix", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "secret_hash", "last_used_at"]


# The admin's log-in is slowed per account like the site's (scaling_ops/login.py).
admin.site.login_form = SlowedAdminLoginForm


@admin.register(Invitation)
class InvitationAdmin(UnscopedAdmin):
    list_display = ["email", "organization", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["organization", "role"]
    # The token exists only in the link sent; an invitation is made from the members page.
    readonly_fields = ["token_hash", "created_at", "accepted_at", "accepted_by", "revoked_at"]

    def has_add_permission(self, request):
        return False
