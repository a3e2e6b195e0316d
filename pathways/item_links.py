"""Links a higher app adds to each exception item (queue rows and the item's page), so that
pathways never imports the apps above it. A provider is registered into
``pathways.extension_points.item_links`` in ``AppConfig.ready`` and takes (request, item,
detail) -> list of ItemLink. ``detail`` is False for queue rows, where a provider must not query
per row, and True on the item's own page."""

from dataclasses import dataclass

from pathways.extension_points import item_links


@dataclass(frozen=True)
class ItemLink:
    label: str
    url: str
    # "post": a one-click button (a form with the CSRF token); "get": a plain link.
    method: str = "get"


def links_for(request, item, *, detail: bool = False) -> list[ItemLink]:
    if request is None or getattr(request, "membership", None) is None:
        return []
    return [link for provider in item_links.providers() for link in provider(request, item, detail)]
