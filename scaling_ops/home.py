"""The home page per role: cards that say what to do next. Apps register card providers in
``AppConfig.ready``; a provider takes (request, membership) and returns a list of cards."""

from collections.abc import Callable

from django.urls import reverse

from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites

CardProvider = Callable[..., list[dict]]
_providers: list[tuple[int, CardProvider]] = []


def register(provider: CardProvider, order: int = 100) -> None:
    if all(existing is not provider for _, existing in _providers):
        _providers.append((order, provider))


def card(
    title: str, text: str, url: str | None = None, action: str = "Open", tone: str = ""
) -> dict:
    return {"title": title, "text": text, "url": url, "action": action, "tone": tone}


def core_cards(request, membership) -> list[dict]:
    org = membership.organization.slug
    role = membership.role
    cards = []
    if role in (Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD):
        sites = list(visible_sites(membership))
        not_live = [s for s in sites if s.status != "live"]
        cards.append(
            card(
                "Sites",
                f"{len(sites)} sites in your scope; {len(not_live)} not yet live. "
                "Move a site through planned → launching → live when it is ready.",
                reverse("site_list", kwargs={"org": org}),
                "Review sites",
                "warn" if not_live else "",
            )
        )
    if role == Role.ORG_ADMIN:
        cards.append(
            card(
                "People and partner systems",
                "Invite colleagues with a role and sites; issue or revoke partner API keys.",
                reverse("membership_list", kwargs={"org": org}),
                "Manage members",
            )
        )
    return cards


def home_sections(request, membership) -> list[dict]:
    cards = []
    for _, provider in sorted(_providers, key=lambda pair: pair[0]):
        cards.extend(provider(request, membership))
    return cards


register(core_cards, order=90)
