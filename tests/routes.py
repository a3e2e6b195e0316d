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
