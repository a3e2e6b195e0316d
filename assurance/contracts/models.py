"""Contracts that protect the model (issue 6): covered sites with their maturity phase, funded
components, protected core steps, performance terms on the shared metric definitions, payment
bands and corrective-action clauses, and what the monthly evaluation records.

Imported at the bottom of ``assurance/models.py`` so Django registers these models in the
assurance app. Every governed record keeps its history (django-simple-history)."""

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from pathways.models import Pathway, RiskTier
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel


class Phase(models.TextChoices):
    IMPLEMENTATION = "implementation", "Implementation"
    MATURE = "mature", "Mature"


class Contract(TenantModel):
    """A commissioning contract between the provider (the organisation) and a commissioner."""

    reference = models.SlugField(max_length=60, help_text="Short code, e.g. rcc-2026.")
    name = models.CharField(max_length=200)
    commissioner_name = models.CharField(
        max_length=200, help_text="The commissioning organisation, e.g. Riverside County Council."
    )
    county = models.CharField(max_length=120, blank=True)
    # The commissioner users who may read this contract (they also need access to its sites).
    commissioners = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    pathways = models.ManyToManyField(Pathway, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["reference"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="contract_reference_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="contract_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.reference})"

    def in_force_on(self, day: date) -> bool:
        return self.period_start <= day <= self.period_end


class ContractSite(TenantModel):
    """A covered site and its maturity phase: implementation until ``mature_from``. A month is
    held to the targets of the phase in force on its first day."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="sites")
    site = models.ForeignKey(Site, on_delete=models.RESTRICT, related_name="+")
    mature_from = models.DateField(
        null=True,
        blank=True,
        help_text="The day the site moves from implementation to mature (blank: still "
        "implementing).",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "site__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "site"], name="contract_site_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.site.name} in {self.contract.reference}"

    def phase_for(self, month: date) -> str:
        first = month.replace(day=1)
        if self.mature_from is not None and self.mature_from <= first:
            return Phase.MATURE
        return Phase.IMPLEMENTATION


class FundedComponent(TenantModel):
    class Kind(models.TextChoices):
        SUPERVISION = "supervision", "Supervision"
        IMPLEMENTATION_SUPPORT = "implementation_support", "Implementation support"
        ESCALATION_COORDINATION = "escalation_coordination", "Escalation coordination"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="components")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    monthly_amount = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(0)]
    )
    description = models.CharField(max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "kind"], name="funded_component_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.monthly_amount}/month"


class ProtectedComponent(TenantModel):
    """A pathway step (and its time standards) the contract says cannot be traded away: an
    adaptation of it at a covered site, or retiring the active version that holds it, is
    refused with the clause named."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="protected")
    clause = models.CharField(max_length=20, help_text="e.g. 4.2")
    pathway = models.ForeignKey(Pathway, on_delete=models.RESTRICT, related_name="+")
    step_key = models.SlugField(max_length=80)
    standard = models.CharField(
        max_length=200, blank=True, help_text="The standard protected, e.g. within 48 hours."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "clause", "step_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "pathway", "step_key"],
                name="protected_component_unique",
            )
        ]

    def __str__(self) -> str:
        return f"clause {self.clause}: {self.pathway.slug}/{self.step_key}"


class PerformanceTerm(TenantModel):
    """A target and a threshold per maturity phase on one shared metric definition. Met at or
    beyond the target, at risk between target and threshold, breached beyond the threshold
    (the direction comes from the definition)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="terms")
    clause = models.CharField(max_length=20)
    metric = models.ForeignKey(
        "assurance.MetricDefinition", on_delete=models.RESTRICT, related_name="+"
    )
    step = models.CharField(max_length=80, blank=True, help_text="Blank: the measure overall.")
    implementation_target = models.FloatField()
    implementation_threshold = models.FloatField()
    mature_target = models.FloatField()
    mature_threshold = models.FloatField()
    evaluation_months = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="1: each month on its own; 3: a rolling quarter pooled (Σ numerators / Σ "
        "denominators) ending with the month.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "clause"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "clause"], name="performance_term_clause"
            )
        ]

    def __str__(self) -> str:
        step = f" ({self.step})" if self.step else ""
        return f"{self.clause} {self.metric.name}{step}"

    def target_for(self, phase: str) -> tuple[float, float]:
        if phase == Phase.MATURE:
            return self.mature_target, self.mature_threshold
        return self.implementation_target, self.implementation_threshold


class PaymentBand(TenantModel):
    """A unit rate for activity in one band: cases referred in the month, or cases with any
    recorded activity in it, optionally for one risk tier (at referral)."""

    class Activity(models.TextChoices):
        REFERRALS = "referrals", "Cases referred in the month"
        ACTIVE_CASES = "active_cases", "Cases with activity in the month"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="bands")
    name = models.CharField(max_length=120)
    activity = models.CharField(max_length=20, choices=Activity.choices)
    risk_tier = models.CharField(
        max_length=10, choices=RiskTier.choices, blank=True, help_text="Blank: every tier."
    )
    unit_rate = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(0)]
    )
    order = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "name"], name="payment_band_name_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.unit_rate}"


class CorrectiveClause(TenantModel):
    """Breached for N consecutive complete months at a site opens a joint improvement process
    with an owner and a deadline."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="clauses")
    clause = models.CharField(max_length=20)
    term = models.ForeignKey(PerformanceTerm, on_delete=models.CASCADE, related_name="clauses")
    consecutive_breaches = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who leads the joint improvement process for the provider.",
    )
    response_days = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days from the trigger to the process's deadline.",
    )
    description = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "clause"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "contract", "clause"], name="corrective_clause_unique"
            )
        ]

    def __str__(self) -> str:
        return f"clause {self.clause}: {self.consecutive_breaches} consecutive breaches"


class TermEvaluation(TenantModel):
    """A term's status at one site for one month, with the figures behind it. Derived from the
    current snapshots; re-evaluating a month replaces it (the snapshots are the evidence)."""

    class Status(models.TextChoices):
        MET = "met", "Met"
        AT_RISK = "at_risk", "At risk"
        BREACHED = "breached", "Breached"
        NO_DATA = "no_data", "No data"
        # A month still running: its figures so far are shown, never judged against the target.
        IN_PROGRESS = "in_progress", "In progress"

    term = models.ForeignKey(PerformanceTerm, on_delete=models.CASCADE, related_name="evaluations")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    phase = models.CharField(max_length=20, choices=Phase.choices)
    target = models.FloatField()
    threshold = models.FloatField()
    numerator = models.FloatField(null=True, blank=True)
    denominator = models.FloatField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    # A month still running: shown, never counted towards a corrective trigger.
    partial = models.BooleanField(default=False)
    # [{month, snapshot_id, revision, numerator, denominator}] for each month pooled.
    evidence = models.JSONField(default=list, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["term", "site__code", "month"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "term", "site", "month"], name="term_evaluation_unique"
            )
        ]
        indexes = [models.Index(fields=["organization", "month"])]

    def __str__(self) -> str:
        return f"{self.term} {self.site.code} {self.month:%Y-%m}: {self.status}"


class CorrectiveProcess(TenantModel):
    """A joint improvement process opened by a corrective-action clause: the trigger and its
    evidence, an owner and a deadline. Open until the owner closes it; while open, the clause
    does not trigger again at the site. Works as the ``source`` of an improvement action in the
    learning app (``improvement_action_ref``, ``site``, ``str()``)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="processes")
    clause = models.ForeignKey(CorrectiveClause, on_delete=models.CASCADE, related_name="processes")
    term = models.ForeignKey(PerformanceTerm, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    trigger_month = models.DateField(help_text="The last month of the breach run.")
    trigger = models.CharField(max_length=300)
    evidence = models.JSONField(default=list, blank=True)
    triggered_at = models.DateTimeField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    progress = models.TextField(blank=True, help_text="What the joint process agreed and did.")
    # Link point for the improvement log (learning app), as on Incident and DriftSignal.
    improvement_action_ref = models.CharField(max_length=100, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-triggered_at", "-id"]
        verbose_name_plural = "corrective processes"
        constraints = [
            # Only one open process per clause and site: a breach run does not re-trigger.
            models.UniqueConstraint(
                fields=["organization", "clause", "site"],
                condition=models.Q(status="open"),
                name="corrective_process_one_open",
            )
        ]

    def __str__(self) -> str:
        return (
            f"Joint improvement: {self.contract.reference} clause {self.clause.clause}, "
            f"{self.term.metric.name} at {self.site.name}"
        )


# django-simple-history names a history model's module after the app ("assurance") when its
# model lives outside the app's models.py, but puts the class in this module: say where it is, so
# whatever imports a model by its module (``manage.py shell``'s automatic imports) finds it.
for _model in (
    Contract,
    ContractSite,
    FundedComponent,
    ProtectedComponent,
    PerformanceTerm,
    PaymentBand,
    CorrectiveClause,
    CorrectiveProcess,
):
    _model.history.model.__module__ = __name__
