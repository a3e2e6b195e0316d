"""Platform core: organisations, sites, memberships with roles, partner API keys."""

import hashlib
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from scaling_ops.tenancy import TenantModel

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and dashes."
)
code_validator = RegexValidator(r"^[a-z0-9][a-z0-9_-]*$", "Use lower-case letters, digits, - or _.")


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{value!r} is not an IANA time zone such as Europe/London."
        ) from None


class Organization(models.Model):
    """A tenant. Not itself tenant-scoped: it is the scope."""

    slug = models.SlugField(max_length=60, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Site(TenantModel):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        LAUNCHING = "launching", "Launching"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"

    # Which lifecycle moves are allowed; going live is further gated by launch readiness.
    TRANSITIONS = {
        Status.PLANNED: {Status.LAUNCHING},
        Status.LAUNCHING: {Status.LIVE, Status.PLANNED},
        Status.LIVE: {Status.PAUSED},
        Status.PAUSED: {Status.LIVE},
    }

    code = models.CharField(max_length=40, validators=[code_validator])
    name = models.CharField(max_length=200)
    region = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="site_code_unique_per_org"
            )
        ]
        # Site-level scope for implementation leads, supervisors and commissioners.
        permissions = [("access_site", "Can work with this site")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Role(models.TextChoices):
    ORG_ADMIN = "org_admin", "Org admin"
    IMPLEMENTATION_LEAD = "implementation_lead", "Implementation lead"
    SUPERVISOR = "supervisor", "Supervisor"
    COMMISSIONER = "commissioner", "Commissioner"


READ_ONLY_ROLES = frozenset({Role.COMMISSIONER})


class Membership(TenantModel):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=30, choices=Role.choices)
    # Org admins always see every site; others see every site only when this is set,
    # otherwise the sites they hold the ``access_site`` object permission on.
    all_sites = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="one_membership_per_user_and_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"

    @property
    def is_read_only(self) -> bool:
        return self.role in READ_ONLY_ROLES

    @property
    def sees_all_sites(self) -> bool:
        return self.role == Role.ORG_ADMIN or self.all_sites


INVITATION_VALID_FOR = timedelta(days=7)


class Invitation(TenantModel):
    """An org admin's offer of a role to an email address. The membership exists only once the
    invitee accepts. Only the SHA-256 of the link's token is stored: the token is a random
    256-bit secret, so a slow hash would add nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    email = models.EmailField()
    role = models.CharField(max_length=30, choices=Role.choices)
    all_sites = models.BooleanField(default=False)
    sites = models.ManyToManyField(Site, blank=True, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["token_hash"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()}"

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return self.Status.ACCEPTED
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class PartnerKey(TenantModel):
    """An API key for a partner system. Only the SHA-256 of the key is stored: keys are
    random 256-bit secrets, so a slow password hash would add latency and no safety."""

    name = models.CharField(max_length=120)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    sites = models.ManyToManyField(Site, related_name="partner_keys")
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(excluded_fields=["last_used_at", "secret_hash"])

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="partner_key_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def hash_secret(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()


class Notice(TenantModel):
    """One thing a person should know or do (a reminder, the daily digest), in their in-app
    inbox and, unless they turned its kind off, by email. Keyed by (user, key): the key is the
    natural key of the event (``improvement_action:12:due:2026-12-04``), so a rerun of the beat
    task finds the notice already there and sends nothing twice."""

    class Email(models.TextChoices):
        PENDING = "pending", "To send"
        SENT = "sent", "Sent"
        OFF = "off", "Not emailed (preference)"
        FAILED = "failed", "Could not be sent"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=200)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=200)
    # [{"heading": str, "lines": [str], "url": str}]: one section, or one per site in a digest.
    sections = models.JSONField(default=list)
    url = models.CharField(max_length=300, blank=True)
    template = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.PENDING)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user", "key"], name="notice_once_per_user_and_key"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "user", "read_at"]),
            models.Index(fields=["organization", "email"]),
        ]

    def __str__(self) -> str:
        return self.title


class NoticePreference(TenantModel):
    """A member's choices for notices in one organisation: which kinds are not emailed (the
    inbox keeps every notice) and the local hour their daily digest is made."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email_off = models.JSONField(default=list, blank=True, help_text="Kinds not emailed.")
    digest_hour = models.PositiveSmallIntegerField(
        default=7, help_text="Local hour (0–23) from which the day's digest is made."
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="notice_preference_once")
        ]
