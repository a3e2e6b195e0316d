"""Reads for the platform core."""

from django.db.models import QuerySet
from guardian.shortcuts import get_objects_for_user

from scaling_ops.models import Membership, PartnerKey, Site


def memberships_for_user(*, user) -> QuerySet[Membership]:
    """Every organisation a user belongs to: used before any tenant is bound (org picker)."""
    return (
        Membership.dangerously_unscoped.filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def visible_sites(membership: Membership) -> QuerySet[Site]:
    """The sites of the bound organisation that a member may see."""
    if membership.sees_all_sites:
        return Site.objects.all()
    return get_objects_for_user(
        membership.user,
        "scaling_ops.access_site",
        klass=Site.objects.all(),
        accept_global_perms=False,
    )


def site_list(*, membership: Membership) -> QuerySet[Site]:
    return visible_sites(membership).order_by("code")


def membership_list() -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("role", "user__username")


def partner_key_list() -> QuerySet[PartnerKey]:
    return PartnerKey.objects.prefetch_related("sites").order_by("-created_at")
