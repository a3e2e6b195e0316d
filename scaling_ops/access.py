"""Lookups and checks that cannot cross tenants (after healthchecks' ``_get_check_for_user``).

Outsiders never reach a view (the middleware 404s them); these helpers narrow further to the
member's sites and role. A missing object and one outside the member's sites give the same 404."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404

from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites

ALL_ROLES = frozenset(Role.values)
WRITE_ROLES = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR})
# The roles that run the organisation's set-up: sites, standards, reviews, contracts.
LEADS = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD})


def member_required(view):
    """Any member of the URL's organisation (the middleware has already checked membership)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership is None:
            raise Http404("No organisation in this URL.")
        return view(request, *args, **kwargs)

    return wrapper


def roles_required(*roles: str, read_roles=ALL_ROLES):
    """Safe methods need one of ``read_roles``; unsafe methods need one of ``roles``."""

    def decorator(view):
        @wraps(view)
        @member_required
        def wrapper(request, *args, **kwargs):
            allowed = read_roles if request.method in ("GET", "HEAD") else roles
            if request.membership.role not in allowed:
                raise PermissionDenied("Your role cannot do this here.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def site_for_member(request, code: str):
    """The site ``code`` if the member may see it, else 404."""
    site = visible_sites(request.membership).filter(code=code).first()
    if site is None:
        raise Http404("No such site.")
    return site
