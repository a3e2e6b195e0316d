"""Django admin for superusers: reads across tenants through the unscoped manager on purpose."""

from django.contrib import admin

from scaling_ops.admin import UnscopedAdmin
from workforce import models


@admin.register(models.StaffMember)
class StaffMemberAdmin(UnscopedAdmin):
    list_display = ["name", "organization", "site", "team", "role", "experience_band", "left_on"]
    list_filter = ["role", "experience_band"]


@admin.register(models.Team)
class TeamAdmin(UnscopedAdmin):
    list_display = ["name", "organization", "site", "supervisor"]


@admin.register(models.WorkforceStandard)
class WorkforceStandardAdmin(UnscopedAdmin):
    list_display = ["organization", "pathway", "min_experienced_share",
                    "max_practitioners_per_supervisor", "supervision_interval_days"]  # fmt: skip


@admin.register(models.TrainingModule)
class TrainingModuleAdmin(UnscopedAdmin):
    list_display = ["code", "name", "organization", "kind", "validity_months"]


@admin.register(models.ChecklistTemplate)
class ChecklistTemplateAdmin(UnscopedAdmin):
    list_display = ["name", "version", "organization", "status"]


@admin.register(models.WorkforceException)
class WorkforceExceptionAdmin(UnscopedAdmin):
    list_display = ["kind", "subject", "organization", "site", "status", "last_seen_on"]
    list_filter = ["kind", "status"]
