"""Workforce: staff and teams, workforce standards with the decision-authority matrix,
supervision and reproducible case-review samples, training and onboarding, the daily workforce
integrity checks, and site launch readiness."""

import os

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from pathways.models import Case, Pathway, PathwayVersion
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel, WriteOnceModel
from scaling_ops.uploads import KINDS as UPLOAD_KINDS
from scaling_ops.uploads import private_storage, private_upload_name

USER = settings.AUTH_USER_MODEL


class StaffRole(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    SENIOR_PRACTITIONER = "senior_practitioner", "Senior practitioner"
    SUPERVISOR = "supervisor", "Supervisor"
    CLINICAL_LEAD = "clinical_lead", "Clinical lead"


# The roles that carry a caseload: counted in skill mix and supervisor span.
CASELOAD_ROLES = (StaffRole.PRACTITIONER, StaffRole.SENIOR_PRACTITIONER)


class ExperienceBand(models.TextChoices):
    NEW = "new", "New (under 1 year)"
    DEVELOPING = "developing", "Developing (1–3 years)"
    EXPERIENCED = "experienced", "Experienced (3 years or more)"


class Decision(models.TextChoices):
    CLOSE_CASE = "close_case", "Close a case"
    APPROVE_ESCALATION = "approve_escalation", "Approve an escalation"
    ACCEPT_DEVIATION = "accept_deviation", "Accept a deviation"


def default_authority() -> dict:
    return {
        Decision.CLOSE_CASE: [StaffRole.SENIOR_PRACTITIONER, StaffRole.SUPERVISOR,
                              StaffRole.CLINICAL_LEAD],
        Decision.APPROVE_ESCALATION: [StaffRole.SUPERVISOR, StaffRole.CLINICAL_LEAD],
        Decision.ACCEPT_DEVIATION: [StaffRole.SUPERVISOR, StaffRole.CLINICAL_LEAD],
    }  # fmt: skip


class WorkforceStandard(TenantModel):
    """The workforce standard of the organisation (``pathway`` empty) or of one pathway."""

    pathway = models.ForeignKey(
        Pathway, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    min_experienced_share = models.FloatField(
        default=0.5, help_text="Minimum share (0–1) of experienced staff in each team."
    )
    max_practitioners_per_supervisor = models.PositiveIntegerField(default=8)
    supervision_interval_days = models.PositiveIntegerField(
        default=14, help_text="Longest gap allowed between supervision sessions."
    )
    review_sample_size = models.PositiveIntegerField(
        default=3, help_text="Cases drawn for each supervisor's weekly case review."
    )
    onboarding_days = models.PositiveIntegerField(
        default=30, help_text="Length of the onboarding pathway for a new starter."
    )
    max_caseload = models.PositiveIntegerField(
        default=20,
        help_text="Most open cases one practitioner should hold; more is a pressure signal.",
    )
    coaching_interval_days = models.PositiveIntegerField(
        default=7,
        help_text="Longest gap between case-based coaching sessions at a launching or drifting "
        "site (weekly: 7).",
    )
    drift_supervision_interval_days = models.PositiveIntegerField(
        default=7,
        help_text="Supervision interval for a drifting site's teams until its re-audit.",
    )
    drift_coaching_due_days = models.PositiveIntegerField(
        default=7, help_text="Days after a drift signal by which its coaching session is held."
    )
    # Decision -> staff roles that may take it. Org admins hold every authority.
    authority = models.JSONField(default=default_authority)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pathway"], name="workforce_standard_per_pathway"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(pathway__isnull=True),
                name="one_organisation_workforce_standard",
            ),
        ]

    def __str__(self) -> str:
        return f"Workforce standard ({self.pathway or 'organisation'})"

    def roles_for(self, decision: str) -> list[str]:
        return list(self.authority.get(decision, []))


class StaffMember(TenantModel):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=30, choices=StaffRole.choices)
    experience_band = models.CharField(max_length=20, choices=ExperienceBand.choices)
    fte = models.DecimalField(max_digits=3, decimal_places=2, default=1)
    start_date = models.DateField()
    left_on = models.DateField(null=True, blank=True)
    user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "name"]
        indexes = [models.Index(fields=["organization", "site"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    @property
    def is_experienced(self) -> bool:
        return self.experience_band == ExperienceBand.EXPERIENCED


class Team(TenantModel):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    pathway = models.ForeignKey(
        Pathway, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supervisor = models.ForeignKey(
        StaffMember, null=True, blank=True, on_delete=models.SET_NULL, related_name="supervises"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "site", "name"], name="team_name")
        ]

    def __str__(self) -> str:
        return self.name


class TeamEstablishment(TenantModel):
    """A team's funded establishment (FTE) from ``effective_from`` until the next dated value:
    set by leads, never rewritten in place (a correction of the same day keeps its history)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="establishments")
    effective_from = models.DateField()
    fte = models.DecimalField(max_digits=5, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["team", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "team", "effective_from"], name="team_establishment_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.fte} FTE from {self.effective_from:%Y-%m-%d}"


class CaseAssignment(TenantModel):
    """A case's practitioner. One current assignment per case; earlier ones keep ``ended_at``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="assignments"
    )
    assigned_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    assigned_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "case"],
                condition=Q(ended_at__isnull=True),
                name="one_current_assignment_per_case",
            )
        ]


class CaseDecision(WriteOnceModel):
    """A decision taken on a case under the decision-authority matrix (close, approve an
    escalation), with the authority it was taken under."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(max_length=30, choices=Decision.choices)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    authority = models.CharField(max_length=60, help_text="The role the decision was taken as.")
    note = models.TextField()
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} ({self.decided_at:%Y-%m-%d})"


class SupervisionSession(TenantModel):
    supervisor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="supervision_sessions"
    )
    held_on = models.DateField()
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-held_on", "-pk"]
        indexes = [models.Index(fields=["organization", "staff", "held_on"])]


class SessionCaseReview(TenantModel):
    session = models.ForeignKey(
        SupervisionSession, on_delete=models.CASCADE, related_name="reviews"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "case"], name="session_case_once")
        ]


class ReviewSample(TenantModel):
    """A supervisor's weekly case-review sample: ``random.Random(seed).sample`` over the ids of
    the supervisor's open cases in id order. The seed and the population are stored, so the
    same seed over the same cases draws the same sample."""

    supervisor = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    seed = models.BigIntegerField()
    size = models.PositiveIntegerField()
    population = models.PositiveIntegerField()
    drawn_at = models.DateTimeField()
    drawn_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "supervisor", "week_start"], name="one_sample_a_week"
            )
        ]


class ReviewSampleCase(TenantModel):
    sample = models.ForeignKey(ReviewSample, on_delete=models.CASCADE, related_name="cases")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["sample", "position"]


class TrainingModule(TenantModel):
    class Kind(models.TextChoices):
        CORE = "core", "Core"
        ROLE_SPECIFIC = "role_specific", "Role-specific"

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    roles = models.JSONField(default=list, blank=True, help_text="For role-specific modules.")
    validity_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty: a completion never expires."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="training_module_code")
        ]

    def __str__(self) -> str:
        return self.name


class TrainingCompletion(TenantModel):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="completions")
    module = models.ForeignKey(TrainingModule, on_delete=models.CASCADE, related_name="+")
    completed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    signed_off_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    signed_off_at = models.DateTimeField()
    evidence = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-completed_on"]


class OnboardingPlan(TenantModel):
    """A new starter's "first 30 days" plan, generated from the standard onboarding pathway."""

    staff = models.OneToOneField(StaffMember, on_delete=models.CASCADE, related_name="onboarding")
    starts_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)


class PackageAcknowledgement(TenantModel):
    """A staff member's acknowledgement of one pathway version's replication package (its role
    descriptions, scripts, templates): per person per package version. Withdrawn rather than
    deleted, so the history shows when it stopped counting."""

    staff = models.ForeignKey(
        StaffMember, on_delete=models.CASCADE, related_name="package_acknowledgements"
    )
    version = models.ForeignKey(PathwayVersion, on_delete=models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "staff", "version"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_standing_package_acknowledgement",
            )
        ]


class OnboardingTask(TenantModel):
    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="tasks")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    due_on = models.DateField()
    module = models.ForeignKey(
        TrainingModule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_on = models.DateField(null=True, blank=True)
    done_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["plan", "position"]


class CheckKind(models.TextChoices):
    SUPERVISION_OVERDUE = "supervision_overdue", "Supervision overdue"
    SKILL_MIX = "skill_mix_below_minimum", "Team below skill-mix minimum"
    SPAN = "supervisor_span_exceeded", "Supervisor span above maximum"
    TRAINING = "core_training_missing_or_expired", "Core training missing or expired"
    ONBOARDING = "onboarding_behind", "Onboarding behind"
    COACHING = "coaching_overdue", "Coaching overdue"


class WorkforceCheckRun(TenantModel):
    """One day's workforce integrity checks: when and how they were computed."""

    date = models.DateField()
    computed_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    failing = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="workforce_run_date")
        ]


class WorkforceCheckFigure(TenantModel):
    """Per day, site and check: how many subjects were checked and how many failed (trends)."""

    run = models.ForeignKey(WorkforceCheckRun, on_delete=models.CASCADE, related_name="figures")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=CheckKind.choices)
    checked = models.PositiveIntegerField()
    failing = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "site", "kind"], name="workforce_figure")
        ]


class CaseloadFlag(TenantModel):
    """A practitioner above their standard's maximum caseload at the end of a check run's day
    (``pressure.above_maximum_on``), stored with the run: the exception queue's panel reads
    these on every page, where counting every current assignment took about 200 ms at 250,000
    assigned cases."""

    run = models.ForeignKey(
        WorkforceCheckRun, on_delete=models.CASCADE, related_name="caseload_flags"
    )
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    practitioner = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    cases = models.PositiveIntegerField()
    limit = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "practitioner"], name="caseload_flag")
        ]


class WorkforceException(TenantModel):
    """A failing integrity check, keyed by (kind, subject) so each day's run finds the same row
    and keeps its triage state; a check that passes again closes it automatically."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        ACCEPTED = "accepted", "Accepted with reason"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40, choices=CheckKind.choices)
    subject_key = models.CharField(max_length=60)
    subject = models.CharField(max_length=200)
    detail = models.CharField(max_length=300)
    measured = models.FloatField(null=True, blank=True)
    threshold = models.FloatField(null=True, blank=True)
    first_seen_on = models.DateField()
    last_seen_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    closed_automatically = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "kind", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "subject_key"],
                condition=Q(status="open"),
                name="one_open_workforce_exception",
            )
        ]


class ChecklistTemplate(TenantModel):
    """A versioned launch checklist. One version is active; older ones stay for the record."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "version"], name="checklist_version"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(status="active"), name="one_active_checklist"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ChecklistItem(TenantModel):
    class Kind(models.TextChoices):
        AUTOMATIC = "automatic", "Automatic (evaluated from data)"
        ATTESTED = "attested", "Attested (evidence, who, when)"

    class Rule(models.TextChoices):
        CORE_TRAINING = "core_training", "All practitioners completed core training"
        SUPERVISOR_NAMED = "supervisor_named", "A supervisor is named for every team"
        PARTNER_KEY = "partner_key", "An active partner key exists for the site"
        PATHWAY_ACTIVE = "pathway_active", "The pathway version is active"
        ADAPTATIONS_APPROVED = "adaptations_approved", "Site adaptations approved"
        PACKAGE_ACKNOWLEDGED = (
            "package_acknowledged",
            "Package of the active version acknowledged by every practitioner at the site",
        )

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=60)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    rule = models.CharField(max_length=30, choices=Rule.choices, blank=True)
    required = models.BooleanField(default=True)
    guidance = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="checklist_item_key")
        ]


def evidence_upload_to(instance, filename: str) -> str:
    """A random name in the organisation's folder; only the (allow-listed) extension is kept."""
    extension = os.path.splitext(filename)[1].lower()
    return private_upload_name(
        folder=f"readiness/{instance.organization_id}",
        extension=extension if extension in UPLOAD_KINDS else "",
    )


class ReadinessAttestation(TenantModel):
    """A sign-off of an attested item at a site, keyed by the item's key so it carries across
    checklist versions. Withdrawn sign-offs stay listed in the history."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    item_key = models.SlugField(max_length=60)
    evidence = models.TextField()
    # Private: no URL serves it; ``readiness_evidence`` hands it to those who may see readiness.
    evidence_file = models.FileField(
        upload_to=evidence_upload_to, storage=private_storage, blank=True, max_length=200
    )
    evidence_file_name = models.CharField(max_length=200, blank=True)
    attested_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    attested_at = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-attested_at"]


class LaunchDecision(WriteOnceModel):
    """A go-live taken from the readiness page: with the checklist version, what was failing
    and, when an org admin overrode the gate, the reason."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(
        ChecklistTemplate, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_status = models.CharField(max_length=20)
    failing_items = models.JSONField(default=list)
    override_reason = models.TextField(blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self) -> str:
        return f"{self.site} -> {self.to_status} ({self.decided_at:%Y-%m-%d})"
