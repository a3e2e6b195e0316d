"""Reads for the platform core."""

from django.db.models import QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from scaling_ops import tenancy
from scaling_ops.models import Invitation, Membership, PartnerKey, Site


def memberships_for_user(*, user) -> QuerySet[Membership]:
    """Every organisation a user belongs to: used before any tenant is bound (org picker)."""
    return (
        Membership.dangerously_unscoped.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def visible_sites(membership: Membership) -> QuerySet[Site]:
    """The sites of the bound organisation that a member may see.

    A member held to named sites has them read once per membership object (one query), not a
    django-guardian permission subquery built and run at every call: a page asks up to a dozen
    times. The middleware loads the membership afresh for each request, so a change of sites
    is seen by the next request."""
    if membership.sees_all_sites:
        return Site.objects.all()
    site_ids = membership.__dict__.get(_SITE_IDS)
    if site_ids is None:
        site_ids = list(_permitted_sites(membership).values_list("pk", flat=True))
        membership.__dict__[_SITE_IDS] = site_ids
    return Site.objects.filter(pk__in=site_ids)


def visible_site_list(membership: Membership) -> list[Site]:
    """``visible_sites`` ordered by code, as a list: on a request's first read of a member held
    to named sites, the rows and the ids kept for later calls come from one query, not two."""
    if membership.sees_all_sites or _SITE_IDS in membership.__dict__:
        return list(visible_sites(membership).order_by("code"))
    sites = list(_permitted_sites(membership).order_by("code"))
    membership.__dict__[_SITE_IDS] = [site.pk for site in sites]
    return sites


def _permitted_sites(membership: Membership) -> QuerySet[Site]:
    return get_objects_for_user(
        membership.user,
        "scaling_ops.access_site",
        klass=Site.objects.all(),
        accept_global_perms=False,
    )


_SITE_IDS = "_visible_site_ids"


def forget_visible_sites(membership: Membership) -> None:
    """After this membership's sites change (the services that change them call it)."""
    membership.__dict__.pop(_SITE_IDS, None)


def site_list(*, membership: Membership) -> QuerySet[Site]:
    return visible_sites(membership).order_by("code")


def membership_list() -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("role", "user__username")


def membership_for_member_page(*, pk: int) -> Membership | None:
    return Membership.objects.select_related("user").filter(pk=pk).first()


def partner_key_list() -> QuerySet[PartnerKey]:
    return PartnerKey.objects.prefetch_related("sites").order_by("-created_at")


def invitation_for_token(*, token: str) -> Invitation | None:
    """The pending invitation a link's token opens, in whichever organisation it belongs to
    (read before any tenant is bound: the invitee is not a member yet); ``None`` for an
    unknown, expired, used or revoked token alike."""
    invitation = (
        Invitation.dangerously_unscoped.select_related("organization", "created_by")
        .filter(token_hash=Invitation.hash_token(token))
        .first()
    )
    if invitation is None or not invitation.is_pending:
        return None
    with tenancy.scope(invitation.organization_id):
        invitation.offered_sites = list(invitation.sites.order_by("code"))
    return invitation


def invitation_list_pending() -> list[Invitation]:
    invitations = (
        Invitation.objects.filter(accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .select_related("created_by")
        .prefetch_related("sites")
        .order_by("-created_at")
    )
    return list(invitations)


def membership_activity(*, limit: int = 50) -> QuerySet:
    """Who added, changed and removed whom, newest first (the membership history)."""
    # The history table is not tenant-scoped itself: filter it by the bound organisation.
    return (
        Membership.history.filter(organization_id=tenancy.current_organization_id())
        .select_related("history_user", "user")
        .order_by("-history_date")[:limit]
    )
