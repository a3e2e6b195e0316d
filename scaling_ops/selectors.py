"""Reads for the platform core."""

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.utils import timezone
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

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
        site_ids = [site.pk for site in _permitted_sites(membership)]
        membership.__dict__[_SITE_IDS] = site_ids
    return Site.objects.filter(pk__in=site_ids)


def visible_site_list(membership: Membership) -> list[Site]:
    """``visible_sites`` ordered by code, as a list: on a request's first read of a member held
    to named sites, the rows and the ids kept for later calls come from one query, not two."""
    if membership.sees_all_sites or _SITE_IDS in membership.__dict__:
        return list(visible_sites(membership).order_by("code"))
    sites = _permitted_sites(membership)
    membership.__dict__[_SITE_IDS] = [site.pk for site in sites]
    return sites


def _permitted_sites(membership: Membership) -> list[Site]:
    """The sites of the bound organisation the member holds ``access_site`` on, by code: what
    django-guardian's ``get_objects_for_user(user, "scaling_ops.access_site", klass=Site,
    accept_global_perms=False)`` returns (a superuser every site; otherwise the permission held
    on the site itself or through one of the user's groups), read by one written-out query.
    Guardian builds that query with the ORM on every call, 2-4 ms of CPU a page (issue 20)."""
    if membership.user.is_superuser:
        return list(Site.objects.order_by("code"))
    organization_id = tenancy.current_organization_id()
    permission = ("access_site", "scaling_ops", "site")
    return list(
        Site.dangerously_unscoped.raw(
            _permitted_sites_sql(),
            [organization_id, membership.user_id, *permission, membership.user_id, *permission],
        )
    )


# Guardian's object permissions are generic (``object_pk`` is text), so the site's id is cast as
# guardian casts it; the permission is matched by codename and content type, as guardian does,
# not by a row id remembered across databases.
_PERMITTED_SITES = """
SELECT site.* FROM "{site}" site
WHERE site."organization_id" = %s AND CAST(site."id" AS TEXT) IN (
    SELECT held."object_pk" FROM "{user_grants}" held
    INNER JOIN "{permission}" permission ON (permission."id" = held."permission_id")
    INNER JOIN "{content_type}" kind ON (kind."id" = permission."content_type_id")
    WHERE held."user_id" = %s
        AND permission."codename" = %s AND kind."app_label" = %s AND kind."model" = %s
    UNION
    SELECT shared."object_pk" FROM "{group_grants}" shared
    INNER JOIN "{user_groups}" belongs ON (belongs."group_id" = shared."group_id")
    INNER JOIN "{permission}" permission ON (permission."id" = shared."permission_id")
    INNER JOIN "{content_type}" kind ON (kind."id" = permission."content_type_id")
    WHERE belongs."user_id" = %s
        AND permission."codename" = %s AND kind."app_label" = %s AND kind."model" = %s
)
ORDER BY site."code"
"""


@cache
def _permitted_sites_sql() -> str:
    return _PERMITTED_SITES.format(
        site=Site._meta.db_table,
        user_grants=get_user_obj_perms_model(Site)._meta.db_table,
        group_grants=get_group_obj_perms_model(Site)._meta.db_table,
        user_groups=get_user_model().groups.through._meta.db_table,
        permission=Permission._meta.db_table,
        content_type=ContentType._meta.db_table,
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
