"""Writes for the platform core: keyword-only, typed, named ``<entity>_<action>``."""

import secrets
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from scaling_ops import tenancy
from scaling_ops.extension_points import site_transition_guards
from scaling_ops.models import Membership, Organization, PartnerKey, Role, Site

User = get_user_model()


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
) -> Membership:
    """Create or update a user's membership and their site-level object permissions."""
    if role not in Role.values:
        raise ValidationError(
            {"role": f"Unknown role {role!r}; use one of {', '.join(Role.values)}."}
        )
    with tenancy.scope(organization):
        membership = Membership.objects.filter(user=user).first() or Membership(user=user)
        membership.role = role
        membership.all_sites = all_sites
        membership.save()
        wanted = {site.pk for site in sites}
        for site in Site.objects.all():
            if site.pk in wanted:
                assign_perm("scaling_ops.access_site", user, site)
            else:
                remove_perm("scaling_ops.access_site", user, site)
    return membership


def membership_remove(*, membership: Membership) -> None:
    for site in Site.objects.all():
        remove_perm("scaling_ops.access_site", membership.user, site)
    membership.delete()


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
