"""Django admin for superusers. Admin works across tenants, so it reads through the unscoped
manager on purpose."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from scaling_ops.models import Membership, Organization, PartnerKey, Site


class UnscopedAdmin(SimpleHistoryAdmin):
    def get_queryset(self, request):
        return self.model.dangerously_unscoped.all()


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
