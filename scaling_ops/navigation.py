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
    entries = []
    for item in navigation.providers():
        if membership.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name, kwargs={"org": membership.organization.slug})
        except NoReverseMatch:
            continue
        entries.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
    return entries
