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
        membership = (
            Membership.dangerously_unscoped.select_related("organization", "user")
            .filter(organization__slug=match["slug"], user=request.user)
            .first()
        )
        if membership is None:
            raise Http404("No such organisation.")
        request.organization = membership.organization
        request.membership = membership
        tenancy.activate(membership.organization)
        if membership.is_read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied("Your role is read-only in this organisation.")
        return None


def organization_of(request) -> Organization:
    if request.organization is None:
        raise Http404("No organisation in this URL.")
    return request.organization
