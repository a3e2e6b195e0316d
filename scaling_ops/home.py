"""The home page per role: cards that say what to do next, from the providers registered in
``scaling_ops.extension_points.home_cards``."""

from django.urls import reverse

from scaling_ops.extension_points import home_cards
from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites


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
    for provider in home_cards.providers():
        cards.extend(provider(request, membership))
    return cards
