"""Django admin for superusers: reads across tenants through the unscoped manager on purpose.
Snapshots and their values are evidence: read-only here too."""

from django.contrib import admin

from assurance.models import (
    AssuranceSettings,
    AssuranceSnapshot,
    AuditRecord,
    AuditSample,
    ComparatorBaseline,
    DriftSignal,
    Incident,
    MetricDefinition,
)
from scaling_ops.admin import UnscopedAdmin


@admin.register(MetricDefinition)
class MetricDefinitionAdmin(UnscopedAdmin):
    list_display = ["code", "name", "organization", "unit", "direction", "process", "builtin"]
    list_filter = ["organization", "process", "builtin"]


@admin.register(AssuranceSettings)
class AssuranceSettingsAdmin(UnscopedAdmin):
    list_display = ["organization", "equity_margin", "drift_margin", "min_denominator"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.dangerously_unscoped.all()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AssuranceSnapshot)
class AssuranceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["site", "month", "revision", "organization", "computed_at", "partial"]
    list_filter = ["organization", "month"]


@admin.register(AuditSample)
class AuditSampleAdmin(UnscopedAdmin):
    list_display = ["site", "month", "kind", "seed", "size", "population", "organization"]
    list_filter = ["organization", "kind"]


@admin.register(AuditRecord)
class AuditRecordAdmin(UnscopedAdmin):
    list_display = ["sample", "position", "audited_at", "organization"]


@admin.register(Incident)
class IncidentAdmin(UnscopedAdmin):
    list_display = ["summary", "site", "kind", "severity", "occurred_at", "review_status"]
    list_filter = ["organization", "kind", "severity", "review_status"]


@admin.register(ComparatorBaseline)
class ComparatorBaselineAdmin(UnscopedAdmin):
    list_display = ["name", "kind", "site", "organization", "active"]


@admin.register(DriftSignal)
class DriftSignalAdmin(UnscopedAdmin):
    list_display = ["site", "month", "measure", "basis", "status", "recovery", "organization"]
    list_filter = ["organization", "status", "recovery"]
