from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from workforce import models


class TenantAdmin(SimpleHistoryAdmin):
    """Admin runs without a bound tenant: it lists through the unscoped manager on purpose."""

    def get_queryset(self, request):
        return self.model.dangerously_unscoped.all()


@admin.register(models.StaffMember)
class StaffMemberAdmin(TenantAdmin):
    list_display = ["name", "organization", "site", "team", "role", "experience_band", "left_on"]
    list_filter = ["role", "experience_band"]


@admin.register(models.Team)
class TeamAdmin(TenantAdmin):
    list_display = ["name", "organization", "site", "supervisor"]


@admin.register(models.WorkforceStandard)
class WorkforceStandardAdmin(TenantAdmin):
    list_display = ["organization", "pathway", "min_experienced_share",
                    "max_practitioners_per_supervisor", "supervision_interval_days"]  # fmt: skip


@admin.register(models.TrainingModule)
class TrainingModuleAdmin(TenantAdmin):
    list_display = ["code", "name", "organization", "kind", "validity_months"]


@admin.register(models.ChecklistTemplate)
class ChecklistTemplateAdmin(TenantAdmin):
    list_display = ["name", "version", "organization", "status"]


@admin.register(models.WorkforceException)
class WorkforceExceptionAdmin(TenantAdmin):
    list_display = ["kind", "subject", "organization", "site", "status", "last_seen_on"]
    list_filter = ["kind", "status"]
