"""Django admin for superusers: reads across tenants through the unscoped manager on purpose."""

from django.contrib import admin

from learning.models import (
    ChangeProposal,
    Deviation,
    ImprovementAction,
    LearningReview,
    LearningSettings,
)
from scaling_ops.admin import UnscopedAdmin


@admin.register(ImprovementAction)
class ImprovementActionAdmin(UnscopedAdmin):
    list_display = ["number", "title", "organization", "site", "status", "deadline", "owner"]
    list_filter = ["status", "source_kind"]


@admin.register(Deviation)
class DeviationAdmin(UnscopedAdmin):
    list_display = ["number", "organization", "site", "step", "category", "occurred_on"]
    list_filter = ["category"]


@admin.register(LearningReview)
class LearningReviewAdmin(UnscopedAdmin):
    list_display = ["number", "title", "organization", "cadence", "held_on"]


@admin.register(ChangeProposal)
class ChangeProposalAdmin(UnscopedAdmin):
    list_display = ["number", "title", "organization", "pathway", "status"]
    list_filter = ["status"]


@admin.register(LearningSettings)
class LearningSettingsAdmin(UnscopedAdmin):
    list_display = ["organization", "pattern_min_sites", "default_deadline_days"]
