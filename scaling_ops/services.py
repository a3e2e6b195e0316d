"""Writes for the platform core: keyword-only, typed, named ``<entity>_<action>``."""

import logging
import secrets
from collections.abc import Iterable
from smtplib import SMTPException

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from scaling_ops import tenancy
from scaling_ops.extension_points import site_transition_guards
from scaling_ops.models import (
    INVITATION_VALID_FOR,
    Invitation,
    Membership,
    Organization,
    PartnerKey,
    Role,
    Site,
)
from scaling_ops.selectors import forget_visible_sites

User = get_user_model()
logger = logging.getLogger(__name__)


@transaction.atomic
def organization_create_or_update(
    *, slug: str, name: str, time_zone: str, sites: Iterable[str] = ()
) -> tuple[Organization, list[Site]]:
    """Idempotent: an existing organisation is updated, existing sites are kept as they are."""
    organization = Organization.objects.filter(slug=slug).first() or Organization(slug=slug)
    organization.name = name
    organization.time_zone = time_zone
    organization.full_clean()
    organization.save()
    created_sites = []
    with tenancy.scope(organization):
        for code in sites:
            site = Site.objects.filter(code=code).first()
            if site is None:
                site = Site(code=code, name=code.replace("-", " ").title())
                site.full_clean(exclude=["organization"])
                site.save()
            created_sites.append(site)
    return organization, created_sites


def site_create(*, code: str, name: str, region: str = "") -> Site:
    site = Site(code=code, name=name, region=region)
    site.full_clean(exclude=["organization"])
    if Site.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A site with code {code!r} already exists."})
    site.save()
    return site


def site_change_status(*, site: Site, status: str, override_reason: str = "") -> Site:
    allowed = Site.TRANSITIONS.get(Site.Status(site.status), set())
    if status not in allowed:
        names = ", ".join(sorted(allowed)) or "none"
        raise ValidationError(
            {"status": f"A {site.status} site cannot move to {status}; allowed: {names}."}
        )
    blockers = [
        reason for guard in site_transition_guards.providers() for reason in guard(site, status)
    ]
    if blockers and not override_reason:
        raise ValidationError({"status": blockers})
    site.status = status
    site._change_reason = override_reason or f"status -> {status}"
    site.save(update_fields=["status"])
    return site


@transaction.atomic
def membership_set(
    *,
    user,
    organization: Organization,
    role: str,
    all_sites: bool = False,
    sites: Iterable[Site] = (),
    change_reason: str = "",
) -> Membership:
    """Create or update a user's membership and their site-level object permissions."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    sites = list(sites)
    with tenancy.scope(organization):
        membership = Membership.objects.filter(user=user).first() or Membership(user=user)
        if membership.pk and membership.role == Role.ORG_ADMIN and role != Role.ORG_ADMIN:
            _refuse_losing_the_last_admin(membership, "role", "change their role")
        foreign = [site for site in sites if site.organization_id != organization.pk]
        if foreign:
            raise ValidationError({"sites": "Choose sites of this organisation only."})
        membership.role = role
        membership.all_sites = all_sites
        membership._change_reason = change_reason or None
        membership.save()
        wanted = {site.pk for site in sites}
        for site in Site.objects.all():
            if site.pk in wanted:
                assign_perm("scaling_ops.access_site", user, site)
            else:
                remove_perm("scaling_ops.access_site", user, site)
        forget_visible_sites(membership)
    return membership


def _refuse_losing_the_last_admin(membership: Membership, field: str, action: str) -> None:
    """Locks the organisation's admin rows first, so two admins removing each other at the same
    moment cannot both succeed and leave nobody able to manage members (PostgreSQL; SQLite
    serialises writers anyway)."""
    admins = list(
        Membership.objects.select_for_update()
        .filter(role=Role.ORG_ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise ValidationError(
            {
                field: f"{membership.user.get_username()} is the only org admin; "
                f"make another member org admin before you {action}."
            }
        )


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    """Within the bound organisation. The deletion is kept in the membership's history, with
    who removed whom (simple-history's request middleware records the acting user)."""
    if membership.role == Role.ORG_ADMIN:
        _refuse_losing_the_last_admin(membership, "membership", "remove them")
    for site in Site.objects.all():
        remove_perm("scaling_ops.access_site", membership.user, site)
    membership.delete()


def _normalised_email(email: str) -> str:
    email = User.objects.normalize_email(email.strip())
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": f"{email!r} is not an email address; write it as name@example.org."}
        ) from None
    return email


@transaction.atomic
def invitation_create(
    *,
    email: str,
    role: str,
    all_sites: bool = False,
    sites: Iterable[Site] = (),
    created_by=None,
) -> tuple[Invitation, str]:
    """In the bound organisation. Returns the invitation and the raw token for its link; the
    token is never stored or shown again. Whether the address already has an account is never
    looked at, so nothing here can tell the admin who is on the platform."""
    email = _normalised_email(email)
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    sites = [] if role == Role.ORG_ADMIN else list(sites)
    organization_id = tenancy.current_organization_id()
    if any(site.organization_id != organization_id for site in sites):
        raise ValidationError({"sites": "Choose sites of this organisation only."})
    if role != Role.ORG_ADMIN and not all_sites and not sites:
        raise ValidationError(
            {"sites": "Tick the sites this person will work with, or tick All sites."}
        )
    pending = [
        invitation
        for invitation in Invitation.objects.filter(email__iexact=email, accepted_at=None)
        if invitation.is_pending
    ]
    if pending:
        raise ValidationError(
            {
                "email": f"An invitation to {email} is already pending (until "
                f"{pending[0].expires_at:%Y-%m-%d}); revoke it below to send a new one."
            }
        )
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        created_at=now,
        expires_at=now + INVITATION_VALID_FOR,
        email=email,
        role=role,
        all_sites=all_sites or role == Role.ORG_ADMIN,
        token_hash=Invitation.hash_token(token),
        created_by=created_by,
    )
    invitation.sites.set(sites)
    return invitation, token


def invitation_revoke(*, invitation: Invitation) -> Invitation:
    if not invitation.is_pending:
        raise ValidationError(
            f"The invitation to {invitation.email} is {invitation.get_status_display().lower()}"
            " already; there is nothing to revoke."
        )
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Creates the membership the invitation offers, with its sites, in the invitation's own
    organisation (bound here: the invitee is not a member yet, so no request binds it)."""
    with tenancy.scope(invitation.organization_id):
        # Re-read under a row lock so one link cannot be accepted twice at the same moment.
        invitation = (
            # Only the invitation's row: PostgreSQL refuses to lock the nullable side of
            # the outer join to its inviter.
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization", "created_by")
            .get(pk=invitation.pk)
        )
        if not invitation.is_pending:
            raise ValidationError(INVITATION_UNUSABLE)
        if Membership.objects.filter(user=user).exists():
            raise ValidationError(
                f"You are already a member of {invitation.organization.name}; ask one of its "
                "org admins to change your role instead."
            )
        inviter = invitation.created_by.get_username() if invitation.created_by else "an admin"
        membership = membership_set(
            user=user,
            organization=invitation.organization,
            role=invitation.role,
            all_sites=invitation.all_sites,
            sites=list(invitation.sites.all()),
            change_reason=f"accepted the invitation from {inviter}",
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def invitation_email_send(*, invitation: Invitation, link: str) -> bool:
    """Sent within the request rather than by a task: the raw token exists only here, and
    queueing it would store it in the broker. False when the mail server refused; the admin
    still has the link on screen."""
    context = {
        "invitation": invitation,
        "organization": invitation.organization,
        "sites": list(invitation.sites.order_by("code")),
        "link": link,
    }
    try:
        send_mail(
            subject=f"You are invited to join {context['organization'].name}",
            message=render_to_string("scaling_ops/email/invitation.txt", context),
            from_email=None,
            recipient_list=[invitation.email],
        )
    except (SMTPException, OSError):
        logger.warning("Invitation %s could not be emailed", invitation.pk, exc_info=True)
        return False
    return True


INVITATION_UNUSABLE = (
    "This invitation link cannot be used. It may have expired, been used already or been "
    "withdrawn. Ask the person who invited you to send a new one."
)
USERNAME_UNUSABLE = "This username cannot be used; choose another one."


@transaction.atomic
def invitation_accept_with_new_account(*, invitation: Invitation, username: str, password: str):
    """Creates the account and the membership together: if accepting fails, no account is left
    behind. A taken username gets the same answer as a reserved one."""
    try:
        User.username_validator(username)
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from None
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": USERNAME_UNUSABLE})
    user = User(username=username, email=invitation.email)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password1": error.messages}) from None
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"username": USERNAME_UNUSABLE}) from None
    invitation_accept(invitation=invitation, user=user)
    return user


@transaction.atomic
def partner_key_create(
    *, name: str, sites: Iterable[Site], created_by=None
) -> tuple[PartnerKey, str]:
    """Returns the key and its raw value; the raw value is never stored or shown again."""
    sites = list(sites)
    if not sites:
        raise ValidationError({"sites": "A partner key needs at least one site it may write."})
    if PartnerKey.objects.filter(name=name).exists():
        raise ValidationError(
            {"name": f"A key named {name!r} already exists; choose another name."}
        )
    prefix = secrets.token_hex(4)
    raw_key = f"sok_{prefix}_{secrets.token_urlsafe(32)}"
    key = PartnerKey.objects.create(
        name=name, prefix=prefix, secret_hash=PartnerKey.hash_secret(raw_key), created_by=created_by
    )
    key.sites.set(sites)
    return key, raw_key


def partner_key_revoke(*, key: PartnerKey) -> PartnerKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def user_get_or_create(*, username: str, password: str | None = None, **fields):
    user, created = User.objects.get_or_create(username=username, defaults=fields)
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user
