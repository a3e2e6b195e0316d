"""Links a higher app adds to each exception item (queue rows and the item's page), so that
pathways never imports the apps above it. A provider is registered in ``AppConfig.ready`` and
takes (request, item, detail) -> list of ItemLink. ``detail`` is False for queue rows, where a
provider must not query per row, and True on the item's own page."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemLink:
    label: str
    url: str
    # "post": a one-click button (a form with the CSRF token); "get": a plain link.
    method: str = "get"


ItemLinkProvider = Callable[..., list[ItemLink]]
_providers: list[ItemLinkProvider] = []


def register(provider: ItemLinkProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def links_for(request, item, *, detail: bool = False) -> list[ItemLink]:
    if request is None or getattr(request, "membership", None) is None:
        return []
    return [link for provider in _providers for link in provider(request, item, detail)]
