"""Enumerates every URL pattern under ``/o/<org>/`` and ``/api/v1/`` so access tests cover new
views without anyone remembering to add them."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

PLACEHOLDER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# Values that make a pattern concrete; what they point at does not matter for the access walk,
# because tenancy is decided before a view looks anything up.
DEFAULT_VALUES = {
    "int": "1",
    "str": "x",
    "slug": "x",
    "path": "x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


@dataclass(frozen=True)
class Route:
    pattern: str
    name: str | None

    def url(self, **values: str) -> str:
        def fill(match: re.Match) -> str:
            name = match["name"]
            if name in values:
                return values[name]
            return DEFAULT_VALUES.get(match["converter"] or "str", "x")

        return "/" + PLACEHOLDER.sub(fill, self.pattern)


def _walk(patterns, prefix: str):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield Route(route.replace("^", "").replace("$", ""), entry.name)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, ""))


def org_routes() -> list[Route]:
    return [r for r in all_routes() if r.pattern.startswith("o/<slug:org>/")]


# Public by design, with the reason: partners and the fuzzer read the contract before they hold a key.
PUBLIC_API_ROUTES = {"api_schema", "api_docs"}


def api_routes() -> list[Route]:
    return [
        r
        for r in all_routes()
        if r.pattern.startswith("api/v1/") and r.name not in PUBLIC_API_ROUTES
    ]


# Routes outside /o/<org>/, /api/v1/ and the Django admin, with why each may be reached without a
# membership. None of them reads tenant data except through the user's own memberships or, for
# an invitation, the one organisation its token names.
OUTSIDE_ORG_ROUTES = {
    "home": "the organisation picker lists only the user's own memberships",
    "login": "logging in",
    "logout": "logging out",
    "password_change": "the logged-in user's own password (login required)",
    "password_change_done": "the logged-in user's own password (login required)",
    "password_reset": "a reset link by email; the answer is the same for any address",
    "password_reset_done": "the neutral 'if an account exists' page",
    "password_reset_confirm": "the emailed link; Django's signed, single-use token",
    "password_reset_complete": "the page after a reset",
    "invitation_open": "the invitee is not a member yet; the token alone picks the organisation",
    "healthz": "liveness probe: plain 200, no tenant data, no writes (tests/deploy/test_health.py)",
    "readyz": "readiness probe: names the failed dependency only, no tenant data, no writes",
}


def outside_org_routes() -> list[Route]:
    return [
        r for r in all_routes() if not r.pattern.startswith(("o/<slug:org>/", "api/v1/", "admin/"))
    ]
