"""Role-aware navigation. Each app registers its entries into
``scaling_ops.extension_points.navigation`` in ``AppConfig.ready`` so the shell never imports
the apps above it (DESIGN.md section 2: dependencies point one way)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from scaling_ops.extension_points import navigation


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: Iterable[str]  # kept as a frozenset, so equal entries are one entry

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", frozenset(self.roles))


def navigation_for(request, membership) -> list[dict]:
    if membership is None:
        return []
    home = reverse("org_home", kwargs={"org": membership.organization.slug})
    entries = []
    for item in navigation.providers():
        if membership.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name, kwargs={"org": membership.organization.slug})
        except NoReverseMatch:
            continue
        entries.append({"label": item.label, "url": url, "active": False})
    current = _current_entry(entries, request.path, home)
    if current is not None:
        current["active"] = True
    return entries


def _section(path: str, home: str) -> str:
    return path[len(home) :].split("/", 1)[0] if path.startswith(home) else ""


def _current_entry(entries: list[dict], path: str, home: str) -> dict | None:
    """One entry at most: the deepest link the page sits under, else the first link of the same
    section (a proposal page belongs to Learning, whose link is its action list). Every page sits
    under the organisation's home, so Home is current only on itself."""
    under = [e for e in entries if e["url"] != home and path.startswith(e["url"])]
    if under:
        return max(under, key=lambda e: len(e["url"]))
    section = _section(path, home)
    if section:
        return next((e for e in entries if _section(e["url"], home) == section), None)
    return next((e for e in entries if e["url"] == path), None)
