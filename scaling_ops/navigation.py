"""Role-aware navigation. Each app registers its entries into
``scaling_ops.extension_points.navigation`` in ``AppConfig.ready`` so the shell never imports
the apps above it (DESIGN.md section 2: dependencies point one way)."""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from django.urls import NoReverseMatch, get_resolver, get_script_prefix, get_urlconf, reverse

from scaling_ops.extension_points import navigation

# Every page renders the menu and the header's links: their URLs are reversed once per
# organisation and role in a process, not on every request (issue 20). Keyed also by the URL
# resolver in use (a new one whenever the URL configuration changes, as in tests) and the
# script prefix; bounded, as organisations come and go over a process's life.
_CACHED_ORGANISATIONS_AND_ROLES = 512


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
    slug = membership.organization.slug
    home = shell_links(slug)["org_home"]
    items = tuple(navigation.providers())
    links = _menu_links(slug, membership.role, items, *_url_space())
    entries = [{"label": label, "url": url, "active": False} for label, url in links]
    current = _current_entry(entries, request.path, home)
    if current is not None:
        current["active"] = True
    return entries


@lru_cache(maxsize=_CACHED_ORGANISATIONS_AND_ROLES)
def _menu_links(slug: str, role: str, items: tuple, resolver, prefix: str) -> tuple:
    links = []
    for item in items:
        if role not in item.roles:
            continue
        try:
            url = reverse(item.url_name, kwargs={"org": slug})
        except NoReverseMatch:
            continue
        links.append((item.label, url))
    return tuple(links)


def shell_links(slug: str) -> dict[str, str]:
    """The URLs the base template's header links to on an organisation's pages (kept like the
    menu's; the dict is shared, never to be changed). Pages outside an organisation reverse
    their few links in the template."""
    return _shell_links(slug, *_url_space())


@lru_cache(maxsize=_CACHED_ORGANISATIONS_AND_ROLES)
def _shell_links(slug: str, resolver, prefix: str) -> dict[str, str]:
    links = {name: reverse(name, kwargs={"org": slug}) for name in _ORGANISATION_LINKS}
    links["home"] = reverse("home")  # the organisation picker: "Switch organisation"
    return links


_ORGANISATION_LINKS = ("org_home", "search", "notice_inbox", "notice_unread_badge")


def _url_space() -> tuple:
    return get_resolver(get_urlconf()), get_script_prefix()


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
