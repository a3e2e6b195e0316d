"""Case-based coaching sessions and the extra supervision a drift response puts in place.

Coaching lives in workforce: it is held by an implementation lead with a site's staff, on a
cadence set by the workforce standard, and the integrity checks that enforce it (coaching
overdue, supervision interval overrides) are workforce checks. Its agenda reads other apps'
figures through ``pathways.extension_points.site_week_figures``."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel
from workforce.models import StaffMember, Team

USER = settings.AUTH_USER_MODEL


class CoachingSession(TenantModel):
    """A weekly case-based coaching session at a site: scheduled (``due_on``) or held
    (``held_on``), with the agenda assembled from the site's data for the week before. A drift
    response schedules one with ``source_key`` (``drift_signal:<id>``)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_on = models.DateField(null=True, blank=True, help_text="Hold it by this date.")
    held_on = models.DateField(null=True, blank=True)
    attendees = models.ManyToManyField(StaffMember, blank=True, related_name="coaching_sessions")
    # The figures the session looked at (from site_week_figures), kept as they stood.
    agenda = models.JSONField(default=list, blank=True)
    agenda_week_start = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    follow_up = models.TextField(
        blank=True, help_text="Follow-up actions agreed; raise each in the improvement log."
    )
    source_key = models.CharField(max_length=60, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-due_on", "-pk"]
        indexes = [models.Index(fields=["organization", "site", "held_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "site", "source_key"],
                condition=~Q(source_key=""),
                name="one_coaching_session_per_source",
            )
        ]

    def __str__(self) -> str:
        when = self.held_on or self.due_on
        return f"Coaching at {self.site.name} ({when:%-d %B %Y})" if when else "Coaching"


class SupervisionOverride(TenantModel):
    """A shorter supervision interval for a site's teams over a window (extra supervision of a
    drift response); the supervision-overdue check applies it on the days it covers."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    interval_days = models.PositiveIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)
    source_key = models.CharField(max_length=60)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "site", "source_key"], name="one_override_per_source"
            )
        ]


# django-simple-history names the history model's module after the app; say where it is.
for _model in (CoachingSession, SupervisionOverride):
    _model.history.model.__module__ = __name__
