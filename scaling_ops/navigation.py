"""Role-aware navigation. Each app registers its entries in ``AppConfig.ready`` so the shell
never imports the apps above it (DESIGN.md section 2: dependencies point one way)."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]
    order: int = 100


_items: list[NavItem] = []


def register(label: str, url_name: str, roles, order: int = 100) -> None:
    item = NavItem(label, url_name, frozenset(roles), order)
    if item not in _items:
        _items.append(item)


def navigation_for(request, membership) -> list[dict]:
    if membership is None:
        return []
    entries = []
    for item in sorted(_items, key=lambda i: i.order):
        if membership.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name, kwargs={"org": membership.organization.slug})
        except NoReverseMatch:
            continue
        entries.append({"label": item.label, "url": url, "active": request.path.startswith(url)})
    return entries
