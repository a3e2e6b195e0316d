"""Pathways: versioned models of care, the cases that follow them, their events, and the
exception items the daily engine raises against them."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from pathways.wording import implausible_rows_text
from scaling_ops.models import Site
from scaling_ops.tenancy import TenantModel


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class StepKind(models.TextChoices):
    INTAKE = "intake", "Intake"
    ASSESSMENT = "assessment", "Assessment"
    TOUCHPOINT = "touchpoint", "Touchpoint"
    ESCALATION = "escalation", "Escalation"
    REVIEW = "review", "Review"
    CLOSURE = "closure", "Closure"


class Pathway(TenantModel):
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="pathway_slug_unique")
        ]

    def __str__(self) -> str:
        return self.name


class PathwayVersion(TenantModel):
    """One version of a pathway. Draft versions may change; an active version is immutable and
    cases referred while it is active stay pinned to it for life."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        # Frozen like an active version; used only for the pilot sites' cases in the pilot period.
        PILOT = "pilot", "In pilot"
        ACTIVE = "active", "Active"
        # One site's variant of the active version, built from its approved adaptations.
        VARIANT = "variant", "Site variant"
        RETIRED = "retired", "Retired"

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Why this version exists: the change proposal, evidence or note that produced it.
    rationale = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    # A site variant: the network version it varies and the site whose new cases follow it.
    variant_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="variants"
    )
    variant_site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The replication package (pathways.package): versioned with the definition, frozen with it.
    package = models.JSONField(default=dict, blank=True)
    # The definition's front door (referral_fields, eligibility, risk_tool) in its JSON shape,
    # validated by pathways.front_door on import; frozen with the rest once active.
    front_door = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pathway", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pathway", "number"], name="pathway_version_number_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "pathway"],
                condition=Q(status="active"),
                name="one_active_version_per_pathway",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pathway.slug} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class VersionPart(TenantModel):
    """A row that belongs to a pathway version's definition: frozen once the version is active."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.version.status != PathwayVersion.Status.DRAFT:
            raise ValidationError(
                f"{self.version} is {self.version.status}; only a draft version can change."
            )
        super().save(*args, **kwargs)


class Step(VersionPart):
    version = models.ForeignKey(PathwayVersion, on_delete=models.CASCADE, related_name="steps")
    key = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    # Core steps are the model's protected parts; only adaptable steps may vary by site.
    core = models.BooleanField(default=True)
    required_fields = models.JSONField(default=list, blank=True)
    order = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version", "key"], name="step_key_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.version})"


class TimeStandard(VersionPart):
    version = models.ForeignKey(
        PathwayVersion, on_delete=models.CASCADE, related_name="time_standards"
    )
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="time_standards")
    position = models.PositiveIntegerField()
    # Empty means every tier.
    tiers = models.JSONField(default=list, blank=True)
    anchor = models.CharField(max_length=100)
    within_hours = models.FloatField()

    class Meta:
        ordering = ["step", "position"]


class EscalationRule(VersionPart):
    version = models.ForeignKey(
        PathwayVersion, on_delete=models.CASCADE, related_name="escalation_rules"
    )
    key = models.SlugField(max_length=80)
    tiers = models.JSONField(default=list, blank=True)
    missed_contacts = models.PositiveIntegerField()
    window_hours = models.FloatField()
    escalate_within_hours = models.FloatField()
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version", "key"], name="escalation_rule_key_unique"
            )
        ]


class SiteAdaptation(TenantModel):
    """A documented, approved local variation of an adaptable step at one site."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="adaptations")
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="adaptations")
    step_key = models.SlugField(max_length=80)
    what = models.TextField(help_text="What is done differently at this site.")
    why = models.TextField(help_text="Why the local context needs it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # What takes effect once approved: the step's time standards in hours, in the step's order
    # (empty: unchanged), and the step's local script (empty: the package's).
    standard_hours = models.JSONField(default=list, blank=True)
    script = models.TextField(blank=True, max_length=4000)

    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "pathway", "step_key"]


class PathwayPilot(TenantModel):
    """A pilot version in use at named sites for a period: a case referred at one of those
    sites at or after ``starts_at`` and before ``ends_at`` is pinned to ``version``."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        ADOPTED = "adopted", "Adopted network-wide"
        REJECTED = "rejected", "Ended: rejected"

    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="pilots")
    version = models.ForeignKey(PathwayVersion, on_delete=models.CASCADE, related_name="pilots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    decision_reason = models.TextField(blank=True, max_length=4000)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="one_pilot_per_version"
            )
        ]

    def __str__(self) -> str:
        return f"pilot of {self.version}"


class PilotSite(TenantModel):
    """One site of a pilot. The period is copied from the pilot so that routing a referral is
    one indexed read."""

    pilot = models.ForeignKey(PathwayPilot, on_delete=models.CASCADE, related_name="sites")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    pathway = models.ForeignKey(Pathway, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["site"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "pilot", "site"], name="pilot_site_once"
            )
        ]
        indexes = [models.Index(fields=["organization", "pathway", "site", "starts_at"])]


class Eligibility(models.TextChoices):
    ELIGIBLE = "eligible", "Eligible"
    INELIGIBLE = "ineligible", "Ineligible"
    NOT_ASSESSABLE = "not_assessable", "Not assessable"


class Case(TenantModel):
    """A partner's pseudonymous case: no personal identifiers, only coded attributes."""

    class Rurality(models.TextChoices):
        URBAN = "urban", "Urban"
        RURAL = "rural", "Rural"

    class Housing(models.TextChoices):
        STABLE = "stable", "Stable"
        UNSTABLE = "unstable", "Unstable"
        HOMELESS = "homeless", "Homeless"

    external_ref = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cases")
    version = models.ForeignKey(PathwayVersion, on_delete=models.PROTECT, related_name="cases")
    referral_at = models.DateTimeField()
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    language_need = models.BooleanField(null=True, blank=True)
    disability = models.BooleanField(null=True, blank=True)
    rurality = models.CharField(max_length=10, choices=Rurality.choices, blank=True)
    housing = models.CharField(max_length=10, choices=Housing.choices, blank=True)
    # The front door (pathways.front_door), kept from the partner's last PUT: who referred, what
    # the referral carried, what it lacked and whether the pathway's eligibility rules hold.
    referral_source = models.CharField(max_length=100, blank=True)
    referral = models.JSONField(default=dict, blank=True)
    referral_missing_required = models.JSONField(default=list, blank=True)
    referral_missing_recommended = models.JSONField(default=list, blank=True)
    eligibility = models.CharField(max_length=20, choices=Eligibility.choices, blank=True)
    # [{"rule": key, "reason": text, "outcome": "fails" | "cannot be checked"}]
    eligibility_rules = models.JSONField(default=list, blank=True)
    # Incomplete, ineligible or not assessable: held at the front door until a supervisor
    # accepts it (ReferralAcceptance) or a later PUT completes it.
    referral_needs_review = models.BooleanField(default=False)
    # The pathway's risk tool's tier from the latest scored assessment (by occurred_at), beside
    # the partner's risk_tier.
    computed_tier = models.CharField(max_length=10, choices=RiskTier.choices, blank=True)
    computed_tier_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["external_ref"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_ref"], name="case_external_ref_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "site", "referral_at"]),
            # The front door reads only the few referrals held for review.
            models.Index(
                fields=["organization", "site", "referral_at"],
                condition=Q(referral_needs_review=True),
                name="case_front_door",
            ),
        ]

    def __str__(self) -> str:
        return self.external_ref


class ReferralAcceptance(TenantModel):
    """A supervisor's decision to take a referral in as it is (incomplete, ineligible or not
    assessable), with the reason: the case leaves the front door."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="acceptance")
    reason = models.CharField(max_length=1000)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField()

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.case} accepted"


class EventType(models.TextChoices):
    STEP_COMPLETED = "step_completed", "Step completed"
    CONTACT_MADE = "contact_made", "Contact made"
    CONTACT_MISSED = "contact_missed", "Contact missed"
    ESCALATION_RAISED = "escalation_raised", "Escalation raised"
    RISK_TIER_CHANGED = "risk_tier_changed", "Risk tier changed"
    OUTCOME_RECORDED = "outcome_recorded", "Outcome recorded"
    CASE_CLOSED = "case_closed", "Case closed"
    SAFEGUARDING_CONCERN = "safeguarding_concern", "Safeguarding concern raised"


class CaseEvent(TenantModel):
    """An event as the partner sent it. ``event_id`` is the partner's id: the unique constraint,
    not a check before insert, is what makes a replayed batch a no-op."""

    # No index of its own: the (organization, event_id) unique constraint leads with it and
    # serves every lookup by organisation, and each index costs every stored event an entry.
    organization = models.ForeignKey(
        "scaling_ops.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    event_id = models.CharField(max_length=100)
    # No index of its own: (case, occurred_at) below serves every lookup by case.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=20, choices=EventType.choices)
    step_key = models.CharField(max_length=80, blank=True)
    occurred_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    # SHA-256 of the canonical content, to tell a harmless replay from a conflicting reuse of an id.
    content_hash = models.CharField(max_length=64)
    # When the partner sent it; set explicitly when loading history so late arrivals show.
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_id"], name="case_event_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["case", "occurred_at"]),
            # The daily report's changed cases (events dated in a window, or stored since the
            # day before's report read the table) and the implausible-time counts read ranges
            # of these instead of the whole history. Not led by the organisation: SQLite's
            # planner (no statistics) would then take them over (case, occurred_at) for one
            # case's events, and scan the organisation's.
            models.Index(fields=["occurred_at"], name="case_event_occurred"),
            models.Index(fields=["received_at"], name="case_event_received"),
            # Closures only (about one per case): the queue's caseload flag asks on every page
            # whether each currently assigned case was closed, which otherwise scans every
            # event of the organisation (issue 20: 88 -> 46 ms at 30,000 cases with 22,000
            # assignments). The other event kinds pay nothing for it when they are stored.
            models.Index(
                fields=["case", "occurred_at"],
                condition=models.Q(type="case_closed"),
                name="case_event_closure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class ExceptionKind(models.TextChoices):
    OVERDUE_STEP = "overdue_step", "Overdue step"
    LATE_STEP = "late_step", "Late step"
    MISSED_ESCALATION = "missed_escalation", "Missed escalation"
    INCOMPLETE_ASSESSMENT = "incomplete_assessment", "Incomplete assessment"
    TIER_DISAGREEMENT = "tier_disagreement", "Risk tier disagreement"
    MISSED_SAFEGUARDING = "missed_safeguarding", "Safeguarding response missed"


class ExceptionReport(TenantModel):
    """The daily exception report for one organisation-local date: when and how it was computed."""

    date = models.DateField()
    cutoff = models.DateTimeField()
    computed_at = models.DateTimeField()
    item_count = models.PositiveIntegerField(default=0)
    case_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    # What the computation read, so the next day's can start from this one: only cases changed
    # since (events or case edits after ``started_at``, events past ``last_event_pk``) or with
    # an obligation falling due in the day are evaluated again; the rest carry their lines over.
    last_event_pk = models.BigIntegerField(null=True, blank=True)
    definitions_digest = models.CharField(max_length=64, blank=True)
    incremental = models.BooleanField(
        default=False, help_text="Built on the previous day's report rather than every case."
    )
    cases_evaluated = models.PositiveIntegerField(default=0)
    # Stored rows dated outside the plausible window (pathways.plausible_time) when it ran: left
    # out of every computation, so the report says so until they are repaired.
    implausible_cases = models.PositiveIntegerField(default=0)
    implausible_events = models.PositiveIntegerField(default=0)
    # The queue's huddle summary and counts, stored with the report so a page never groups
    # every line again: one entry per (site id, step, kind, item status) with its count and
    # oldest "since" (ISO). Triage and later reports change item statuses, so they clear it
    # (None) and the next reader stores it again (pathways.selectors.exceptions).
    summary = models.JSONField(null=True, blank=True, editable=False)
    # Lines older than the retention window (settings.EXCEPTION_REPORT_RETENTION_DAYS) are
    # rolled up into ``summary`` and dropped; the report then keeps only its figures.
    lines_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="exception_report_date")
        ]

    def __str__(self) -> str:
        return f"Exception report {self.date}"

    @property
    def started_at(self):
        """When the computation began reading: its end less its duration (a little early, as
        the duration's clock starts first)."""
        return self.computed_at - timedelta(milliseconds=self.duration_ms)

    @property
    def evaluation(self) -> str:
        """How much was evaluated, for the queue's "computed at" line and the command."""
        if self.incremental:
            return (
                f"built on the {self.date - timedelta(days=1):%Y-%m-%d} report; "
                f"{self.cases_evaluated} changed cases evaluated again"
            )
        return f"all {self.cases_evaluated} cases evaluated"

    @property
    def skipped(self) -> str:
        """The rows it left out, for the queue and the command ("" when none)."""
        if not (self.implausible_cases or self.implausible_events):
            return ""
        return implausible_rows_text(
            cases=self.implausible_cases,
            events=self.implausible_events,
            organization_slug=self.organization.slug,
        )


class ExceptionItem(TenantModel):
    """One obligation that went wrong, keyed by (case, obligation) so that recomputation finds
    the same row and keeps its triage state."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ASSIGNED = "assigned", "Assigned"
        RESOLVED = "resolved", "Resolved"
        ACCEPTED = "accepted", "Accepted with reason"

    # No index of its own: exception_item_natural_key and the (organization, site, status) index
    # lead with it, and every item a report raises would pay for a third.
    organization = models.ForeignKey(
        "scaling_ops.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="exception_items")
    obligation_key = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=80)
    kind = models.CharField(max_length=30, choices=ExceptionKind.choices)
    anchor_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    first_reported_on = models.DateField()
    last_reported_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # Who works it, as pathways.assignees keys it ("user:5", "staff:12") and the name shown then.
    assignee_key = models.CharField(max_length=40, blank=True)
    assignee_name = models.CharField(max_length=200, blank=True)
    note = models.TextField(blank=True, help_text="Corrective action, or the accepted reason.")
    # True when the engine closed it (a late completion arrived), not a person.
    closed_automatically = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    # An item's history is read by item or by case (with its organisation): an index by
    # organisation or by site would cost each of a report's history rows two entries more.
    history = HistoricalRecords(no_db_index=["organization", "site"])

    class Meta:
        ordering = ["site", "step", "kind", "due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "case", "obligation_key"], name="exception_item_natural_key"
            ),
            # What a report line's one foreign key refers to (``report_line_item_site``).
            models.UniqueConstraint(
                fields=["id", "organization", "site"], name="exception_item_site_key"
            ),
        ]
        indexes = [models.Index(fields=["organization", "site", "status"])]

    def __str__(self) -> str:
        return f"{self.case} {self.kind} {self.step}"


class ExceptionReportLine(TenantModel):
    """Membership of an item in one day's report, with the kind and figures of that day, so a
    past day's report can be shown (and recomputed) exactly.

    A line's organisation and site are its item's, copied so that the queue reads a report's
    lines of a site from the line's own index. On PostgreSQL one composite foreign key,
    ``report_line_item_site`` (migration 0010: Django cannot declare one), holds the three
    together: (item, organization, site) must be an item's own, so a line can never be shown
    at another site or organisation than its item's. It replaces three single-column keys,
    checked for every line a report writes (tens of thousands a day)."""

    organization = models.ForeignKey(
        "scaling_ops.Organization",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    # Its own index would only repeat report_line_unique's and report_line_api_order's first
    # column; every line written (tens of thousands a day) would pay for it.
    report = models.ForeignKey(
        ExceptionReport, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
    item = models.ForeignKey(
        ExceptionItem, on_delete=models.CASCADE, related_name="lines", db_constraint=False
    )
    kind = models.CharField(max_length=30, choices=ExceptionKind.choices)
    due_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The queue's sort keys, copied from the item when the line is written, so a page of one
    # report is read in order from the report's own index (``report_line_queue_order``) and
    # paged by key instead of joining and sorting every line: the item's site and step (they
    # never change for an item) and ``since`` = due, or the anchor for an incomplete
    # assessment, the time the age is counted from.
    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    step = models.CharField(max_length=80)
    since = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "item"], name="report_line_unique")
        ]
        indexes = [
            models.Index(
                fields=["report", "site", "step", "kind", "since", "id"],
                name="report_line_queue_order",
            ),
            # The partner API's pages: one report's lines in id order, without walking the
            # primary key past every older report's lines.
            models.Index(fields=["report", "id"], name="report_line_api_order"),
        ]


class QueuePreference(TenantModel):
    """The queue filters a person last chose in this organisation, so the huddle page opens the
    way they left it (the filter fields of the query string only, never a date or a page)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    query = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="queue_preference_per_user"
            )
        ]
