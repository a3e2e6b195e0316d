"""Binds the tenant for each request: ``/o/<org-slug>/...`` after checking membership.

An organisation that does not exist and one the user does not belong to give the same 404, so the
URL space reveals nothing. Read-only roles are refused every unsafe method here, once, so a view
that forgets its own check still cannot write.
"""

import re

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from scaling_ops import tenancy
from scaling_ops.models import Membership, Organization

ORG_PATH = re.compile(r"^/o/(?P<slug>[a-z0-9][a-z0-9-]*)/")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The member with their organisation in one query, written out rather than built by the ORM on
# every request (issue 20); the ORM still makes the Membership and converts its values. The
# organisation's text columns need no conversion on any backend; its creation time is left
# deferred (no page of a request shows it). The user is the request's own.
MEMBERSHIP_WITH_ORGANIZATION = (
    'SELECT member.*, org."slug" AS org_slug, org."name" AS org_name,'
    ' org."time_zone" AS org_time_zone'
    ' FROM "scaling_ops_membership" member'
    ' INNER JOIN "scaling_ops_organization" org ON (org."id" = member."organization_id")'
    ' WHERE org."slug" = %s AND member."user_id" = %s'
)
_ORGANIZATION_COLUMNS = {
    "id": None,
    "slug": "org_slug",
    "name": "org_name",
    "time_zone": "org_time_zone",
}


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.organization = None
        request.membership = None
        with tenancy.isolated():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = ORG_PATH.match(request.path_info)
        if not match:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = _membership(match["slug"], request.user)
        if membership is None:
            raise Http404("No such organisation.")
        request.organization = membership.organization
        request.membership = membership
        tenancy.activate(membership.organization)
        if membership.is_read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("Your role is read-only in this organisation.")
        return None


def _membership(slug: str, user) -> Membership | None:
    """The user's membership of the organisation ``slug`` (at most one: a unique constraint)."""
    rows = list(Membership.dangerously_unscoped.raw(MEMBERSHIP_WITH_ORGANIZATION, [slug, user.pk]))
    if not rows:
        return None
    membership = rows[0]
    values = [
        membership.__dict__.pop(alias) if alias else membership.organization_id
        for alias in _ORGANIZATION_COLUMNS.values()
    ]
    membership.organization = Organization.from_db(
        membership._state.db, list(_ORGANIZATION_COLUMNS), values
    )
    membership.user = user
    return membership


def organization_of(request) -> Organization:
    if request.organization is None:
        raise Http404("No organisation in this URL.")
    return request.organization
