"""Learning: the improvement log (corrective actions), the deviation log, cross-site learning
reviews and change proposals that become new pathway versions (DESIGN.md section 1, learning).

Every record here is governed: it keeps an append-only history of who changed what and when."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from pathways.models import Pathway, PathwayVersion
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel

USER = settings.AUTH_USER_MODEL


class LearningSettings(TenantModel):
    """The organisation's learning thresholds: one row per organisation, created on first save."""

    pattern_min_sites = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(2), MaxValueValidator(50)],
        help_text="Flag a deviation pattern (same category at the same step) as a design signal "
        "when it is seen at this many sites or more in a quarter.",
    )
    default_deadline_days = models.PositiveSmallIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text="Deadline of an action raised in one click, in days from today.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "learning settings"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="learning_settings_one_per_org")
        ]

    def __str__(self) -> str:
        return "Learning settings"


class CommissionerPublished(models.Model):
    """Free text can carry case refs and personal details, so commissioners see a record's free
    text only once a supervisor, lead or admin chose to publish it to them (kept in the history);
    until then they see a placeholder (``learning.disclosure``)."""

    published_to_commissioners = models.BooleanField(
        default=False,
        help_text="Commissioners see this record's text (case refs redacted); otherwise they see "
        "a placeholder.",
    )

    class Meta:
        abstract = True


class ImprovementAction(TenantModel, CommissionerPublished):
    """A corrective action with a named owner and a deadline, linked to what raised it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        VERIFIED = "verified", "Verified"

    class Source(models.TextChoices):
        EXCEPTION = "exception", "Exception"
        INCIDENT = "incident", "Incident"
        AUDIT = "audit", "Record audit"
        DRIFT_SIGNAL = "drift_signal", "Drift signal"
        CONTRACT_CLAUSE = "contract_clause", "Contract clause"
        LEARNING_REVIEW = "learning_review", "Learning review"
        COACHING = "coaching", "Coaching session"
        OTHER = "other", "Other"

    # Forward moves; done can go back to in progress when verification finds it is not done.
    TRANSITIONS = {
        Status.OPEN: {Status.IN_PROGRESS, Status.DONE},
        Status.IN_PROGRESS: {Status.DONE},
        Status.DONE: {Status.VERIFIED, Status.IN_PROGRESS},
        Status.VERIFIED: set(),
    }
    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Empty: network-wide.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    source_kind = models.CharField(max_length=20, choices=Source.choices, default=Source.OTHER)
    # The linked record, generically (the apps it comes from are not imported here): its model
    # name, primary key and a label without case refs.
    source_model = models.CharField(max_length=100, blank=True)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source_label = models.CharField(max_length=200, blank=True)
    review = models.ForeignKey(
        "learning.LearningReview",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="actions",
    )
    owner = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    deadline = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    closure_evidence = models.TextField(
        blank=True, help_text="What shows the action is done: a document, a re-audit, a figure."
    )
    reaudit_on = models.DateField(null=True, blank=True, help_text="When to check it held.")
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["deadline", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="improvement_action_number_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "status", "deadline"]),
            models.Index(fields=["organization", "source_model", "source_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"IA-{self.number}"


class Deviation(TenantModel, CommissionerPublished):
    """A structured departure from the pathway at a site, logged by a supervisor or created from
    an exception accepted with a reason."""

    class Category(models.TextChoices):
        STEP_DELAYED = "step_delayed", "Step done later than the standard"
        STEP_SKIPPED = "step_skipped", "Step skipped"
        ORDER_CHANGED = "order_changed", "Steps done in another order"
        ESCALATION_NOT_RAISED = "escalation_not_raised", "Escalation not raised"
        ASSESSMENT_INCOMPLETE = "assessment_incomplete", "Assessment left incomplete"
        WORKAROUND = "workaround", "Local workaround"
        TOOL_OR_SCRIPT = "tool_or_script", "Tool or script used differently"
        OTHER = "other", "Other"

    class ReferralSource(models.TextChoices):
        HOSPITAL = "hospital", "Hospital"
        PRIMARY_CARE = "primary_care", "Primary care"
        COMMUNITY = "community", "Community services"
        SOCIAL_CARE = "social_care", "Social care"
        SELF = "self", "Self-referral"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Not recorded"

    number = models.PositiveIntegerField()
    category = models.CharField(max_length=30, choices=Category.choices)
    step = models.CharField(max_length=80)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    referral_source = models.CharField(
        max_length=20, choices=ReferralSource.choices, default=ReferralSource.UNKNOWN
    )
    note = models.TextField(blank=True)
    occurred_on = models.DateField()
    # Set when created from an accepted exception (pathways.ExceptionItem primary key).
    exception_id = models.PositiveBigIntegerField(null=True, blank=True)
    logged_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_on", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="deviation_number_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "exception_id"],
                condition=models.Q(exception_id__isnull=False),
                name="deviation_one_per_exception",
            ),
        ]
        indexes = [models.Index(fields=["organization", "occurred_on"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.get_category_display()} at {self.step}"

    @property
    def reference(self) -> str:
        return f"DV-{self.number}"


class LearningReview(TenantModel, CommissionerPublished):
    """A monthly or quarterly cross-site learning session: sites compared on chosen measures
    (the figures kept as they were shown), deviation patterns reviewed, decisions recorded."""

    class Cadence(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    cadence = models.CharField(max_length=10, choices=Cadence.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    held_on = models.DateField()
    sites = models.ManyToManyField(Site, related_name="+")
    measures = models.JSONField(default=list)
    attendees = models.TextField(blank=True)
    # Evidence as shown at the session: figures per site × measure and the patterns reviewed.
    comparison = models.JSONField(default=dict, blank=True)
    patterns = models.JSONField(default=list, blank=True)
    decisions = models.TextField(blank=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="learning_review_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"LR-{self.number}"


class ChangeProposal(TenantModel, CommissionerPublished):
    """Local insight becoming a controlled model change: proposal → pilot at named sites for a
    period → evaluation against the sites' own before and the non-pilot sites → adopted (a new
    draft pathway version carrying the rationale) or rejected (the reason kept)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        PILOTING = "piloting", "Piloting"
        EVALUATED = "evaluated", "Evaluated"
        ADOPTED = "adopted", "Adopted"
        REJECTED = "rejected", "Rejected"

    class ChangeKind(models.TextChoices):
        STEP = "step", "Step"
        TOOL = "tool", "Tool"
        SCRIPT = "script", "Script"
        STANDARD = "standard", "Time standard"

    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="+")
    base_version = models.ForeignKey(
        PathwayVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    step_key = models.CharField(max_length=80, blank=True)
    change = models.TextField(help_text="What changes, in words.")
    rationale = models.TextField(help_text="Why: the local insight behind it.")
    evidence = models.TextField(blank=True, help_text="What was seen: figures, deviations, cases.")
    origin_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The pathway definition with the change made (API.md shape); imported on adoption.
    definition = models.JSONField()
    measures = models.JSONField(default=list, help_text="Measure codes the change should move.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    pilot_sites = models.ManyToManyField(Site, blank=True, related_name="+")
    pilot_start = models.DateField(null=True, blank=True)
    pilot_end = models.DateField(null=True, blank=True)
    evaluation = models.JSONField(default=dict, blank=True)
    evaluation_summary = models.TextField(blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    evaluated_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    adopted_version = models.ForeignKey(
        PathwayVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The version the pilot sites' cases follow during the pilot (pathways.PathwayPilot); adopting
    # the proposal activates it network-wide.
    pilot_version = models.ForeignKey(
        PathwayVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="change_proposal_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"CP-{self.number}"
