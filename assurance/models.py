"""Assurance: metric definitions, immutable monthly snapshots (figures stored as rows), record
audits, incidents and near misses, comparator baselines and drift signals (DESIGN.md section 4).

Snapshots are evidence: a row is written once and never updated; a recompute of the same site and
month writes a new revision beside the old one."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from pathways.models import Case, RiskTier
from pathways.wording import humanise
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel, WriteOnceModel

DEFAULT_ADVERSE_OUTCOMES = ["ed_attendance", "readmission", "crisis_admission"]


def default_adverse_outcomes() -> list[str]:
    return list(DEFAULT_ADVERSE_OUTCOMES)


class AssuranceSettings(TenantModel):
    """The organisation's thresholds: one row per organisation, created on first use."""

    equity_margin = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Flag a subgroup more than this many percentage points below the site's rate.",
    )
    equity_widening_months = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="Flag a gap that has widened month on month this many months running.",
    )
    drift_margin = models.FloatField(
        default=10.0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Raise drift when a site is this many points below the network median or its "
        "own 3-month baseline.",
    )
    min_denominator = models.PositiveIntegerField(
        default=10,
        help_text="Figures with fewer cases than this are shown but never flagged.",
    )
    audit_sample_size = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    reaudit_window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(7), MaxValueValidator(180)],
        help_text="Length of the re-audit window that follows a drift signal.",
    )
    adverse_outcomes = models.JSONField(
        default=default_adverse_outcomes,
        help_text="Outcome codes (outcome_recorded events) counted as adverse.",
    )
    # Stability under pressure (DESIGN.md section 4a).
    surge_factor = models.FloatField(
        default=1.25,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="A month's referrals above this multiple of the previous three months' mean "
        "is a surge.",
    )
    vacancy_threshold = models.FloatField(
        default=0.15,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="A month whose mean vacancy rate (0–1) reaches this is a pressure month.",
    )
    stability_window_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(3), MaxValueValidator(36)],
        help_text="Months, ending with the snapshot's month, that the stability analysis pools.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "assurance settings"
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="assurance_settings_one_per_org")
        ]

    def __str__(self) -> str:
        return "Assurance settings"


class MetricDefinition(TenantModel):
    """One shared definition of a measure, used by every site, contract and county."""

    class Unit(models.TextChoices):
        PERCENT = "percent", "Percent"
        COUNT = "count", "Count"

    class Direction(models.TextChoices):
        HIGHER = "higher_is_better", "Higher is better"
        LOWER = "lower_is_better", "Lower is better"

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    numerator = models.TextField(help_text="What is counted above the line.")
    denominator = models.TextField(blank=True, help_text="What it is divided by (none: a count).")
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.PERCENT)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.HIGHER)
    # Process measures are the ones drift and run charts watch.
    process = models.BooleanField(default=False)
    builtin = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField(default=100)
    # The organisation's own target and breach threshold, used where no contract term sets one
    # (the headline cards colour a figure by its status against them). Blank: no target.
    target = models.FloatField(null=True, blank=True)
    breach_threshold = models.FloatField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="metric_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


# Snapshots are written once: a recompute makes a new revision instead.
RECOMPUTE_INSTEAD = "{name} rows are immutable evidence; recompute to make a new revision."


class AssuranceSnapshot(WriteOnceModel):
    """The figures of one site for one organisation-local month, as computed at ``computed_at``."""

    rewrite_refusal = RECOMPUTE_INSTEAD

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    revision = models.PositiveIntegerField()
    computed_at = models.DateTimeField()
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cutoff = models.DateTimeField(help_text="Events up to this instant count.")
    # Computed before the month ended: the figures cover the month to date.
    partial = models.BooleanField(default=False)
    reason = models.CharField(max_length=200, blank=True)
    case_count = models.PositiveIntegerField(default=0)
    # The site's stored rows dated outside the plausible window (pathways.plausible_time) when it
    # was computed: left out of its figures until they are repaired.
    implausible_cases = models.PositiveIntegerField(default=0)
    implausible_events = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # The thresholds and codes in force, so the evidence can be read as it was.
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-month", "site__code", "-revision"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "site", "month", "revision"],
                name="assurance_snapshot_revision_unique",
            )
        ]
        indexes = [models.Index(fields=["organization", "month", "site"])]

    def __str__(self) -> str:
        return f"{self.site.code} {self.month:%Y-%m} r{self.revision}"


class SnapshotValue(WriteOnceModel):
    """One figure: measure x step x segment. ``step`` is blank for the measure as a whole;
    ``dimension`` "all" is the site's overall figure."""

    rewrite_refusal = RECOMPUTE_INSTEAD

    snapshot = models.ForeignKey(AssuranceSnapshot, on_delete=models.CASCADE, related_name="values")
    measure = models.SlugField(max_length=60)
    step = models.CharField(max_length=80, blank=True)
    dimension = models.CharField(max_length=30)
    segment = models.CharField(max_length=120)
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["measure", "step", "dimension", "segment"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "measure", "step", "dimension", "segment"],
                name="snapshot_value_unique",
            )
        ]
        indexes = [models.Index(fields=["snapshot", "measure", "dimension"])]

    def __str__(self) -> str:
        return f"{self.measure} {self.step} {self.dimension}={self.segment}: {self.value}"


class AuditSample(TenantModel):
    """A reproducible random sample of a site's cases for one month: the seed is recorded, so
    drawing again with it from the same population gives the same cases."""

    class Kind(models.TextChoices):
        ROUTINE = "routine", "Routine monthly audit"
        REAUDIT = "reaudit", "Re-audit after drift"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ROUTINE)
    seed = models.BigIntegerField()
    size = models.PositiveSmallIntegerField()
    population = models.PositiveIntegerField(help_text="Cases eligible when it was drawn.")
    drawn_at = models.DateTimeField(auto_now_add=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-month", "site__code", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "site", "month", "kind"], name="audit_sample_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.site.code} {self.month:%Y-%m}"


class AuditRecord(TenantModel):
    """The audit of one sampled case's record."""

    class Answer(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        NOT_APPLICABLE = "na", "Not applicable"

    QUESTIONS = ("documentation_complete", "steps_evidenced", "escalation_appropriate")

    sample = models.ForeignKey(AuditSample, on_delete=models.CASCADE, related_name="records")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()
    documentation_complete = models.CharField(max_length=3, choices=Answer.choices, blank=True)
    steps_evidenced = models.CharField(max_length=3, choices=Answer.choices, blank=True)
    escalation_appropriate = models.CharField(max_length=3, choices=Answer.choices, blank=True)
    notes = models.TextField(blank=True)
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audited_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["sample", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sample", "case"], name="audit_record_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sample} #{self.position}"

    @property
    def is_done(self) -> bool:
        return self.audited_at is not None

    def answers(self) -> list[str]:
        return [getattr(self, name) for name in self.QUESTIONS]

    @property
    def score(self) -> float | None:
        """Percent of applicable questions answered yes."""
        applicable = [a for a in self.answers() if a in (self.Answer.YES, self.Answer.NO)]
        if not applicable:
            return None
        return 100.0 * sum(a == self.Answer.YES for a in applicable) / len(applicable)


class Incident(TenantModel):
    """An incident or near miss, mapped to the workflow steps where it failed."""

    class Kind(models.TextChoices):
        INCIDENT = "incident", "Incident"
        NEAR_MISS = "near_miss", "Near miss"

    class Category(models.TextChoices):
        GENERAL = "general", "General"
        SAFEGUARDING = "safeguarding", "Safeguarding"

    class Severity(models.TextChoices):
        NO_HARM = "no_harm", "No harm"
        LOW = "low", "Low harm"
        MODERATE = "moderate", "Moderate harm"
        SEVERE = "severe", "Severe harm"

    class Review(models.TextChoices):
        OPEN = "open", "Awaiting review"
        REVIEWED = "reviewed", "Reviewed"
        CLOSED = "closed", "Closed"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INCIDENT)
    # Safeguarding incidents are counted apart (safeguarding_incidents), for contracts.
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.GENERAL)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.LOW)
    occurred_at = models.DateTimeField()
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    failed_steps = models.JSONField(
        default=list, blank=True, help_text="Step keys of the pathway where it failed."
    )
    review_status = models.CharField(max_length=10, choices=Review.choices, default=Review.OPEN)
    review_outcome = models.TextField(blank=True)
    # Link point for the improvement log (learning app): the reference of the improvement action
    # raised from this incident, filled by a registered provider or entered by hand until then.
    improvement_action_ref = models.CharField(max_length=100, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["organization", "site", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary}"


class ComparatorBaseline(TenantModel):
    """An outcome baseline to compare against, by risk tier: its tier mix is the standard
    population of the direct standardisation."""

    class Kind(models.TextChoices):
        HISTORICAL = "historical", "Historical"
        GEOGRAPHIC = "geographic", "Geographic"
        MATCHED = "matched", "Matched"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    measure = models.SlugField(max_length=60, default="adverse_outcome_rate")
    # Blank: the baseline applies to every site.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(max_length=60, blank=True, help_text="e.g. 2025-04 to 2026-03")
    source = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="baseline_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class BaselineRate(TenantModel):
    baseline = models.ForeignKey(ComparatorBaseline, on_delete=models.CASCADE, related_name="rates")
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    rate = models.FloatField(
        validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Percent."
    )
    population = models.PositiveIntegerField(help_text="People in the baseline at this tier.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["baseline", "risk_tier"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "baseline", "risk_tier"], name="baseline_rate_unique"
            )
        ]


class DriftSignal(TenantModel):
    """A site below the network median or its own baseline by more than the margin, with the
    standard response and the re-audit that shows whether it recovered."""

    class Basis(models.TextChoices):
        NETWORK = "network", "Network median"
        BASELINE = "baseline", "Own 3-month baseline"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESPONDING = "responding", "Response under way"
        CLOSED = "closed", "Closed"
        WITHDRAWN = "withdrawn", "Withdrawn by a recompute"

    class Recovery(models.TextChoices):
        AWAITING = "awaiting", "Awaiting re-audit"
        CONFIRMED = "confirmed", "Recovery confirmed"
        NOT_CONFIRMED = "not_confirmed", "Recovery not confirmed"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    measure = models.SlugField(max_length=60)
    basis = models.CharField(max_length=10, choices=Basis.choices)
    value = models.FloatField()
    reference = models.FloatField(help_text="The network median or the baseline it fell below.")
    margin = models.FloatField()
    denominator = models.FloatField()
    snapshot = models.ForeignKey(AssuranceSnapshot, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # The standard response.
    coaching = models.TextField(blank=True, help_text="Targeted coaching: who, on what.")
    extra_supervision = models.TextField(blank=True, help_text="Extra supervision agreed.")
    reaudit_from = models.DateField()
    reaudit_until = models.DateField()
    recovery = models.CharField(max_length=14, choices=Recovery.choices, default=Recovery.AWAITING)
    reaudit_value = models.FloatField(null=True, blank=True)
    reaudit_snapshot = models.ForeignKey(
        AssuranceSnapshot, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Link point for the improvement log (learning app), as on Incident.
    improvement_action_ref = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-month", "site__code", "measure", "basis"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "site", "month", "measure", "basis"],
                name="drift_signal_unique",
            )
        ]

    def __str__(self) -> str:
        """In words (it titles the improvement action raised from the signal): the site and
        the measure by their names, the basis by its label."""
        measure = (
            MetricDefinition.dangerously_unscoped.filter(
                organization_id=self.organization_id, code=self.measure
            )
            .values_list("name", flat=True)
            .first()
        ) or humanise(self.measure)
        return (
            f"Drift at {self.site.name}, {self.month:%B %Y}: {measure} "
            f"({self.get_basis_display().lower()})"
        )
