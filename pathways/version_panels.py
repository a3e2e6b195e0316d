"""Panels a higher app adds to a pathway version's page (e.g. the change proposal, evidence and
evaluation behind a version), so that pathways never imports the apps above it. A provider is
registered in ``AppConfig.ready``, takes (request, version) and returns HTML (already escaped,
e.g. from ``render_to_string``) or an empty string."""

from collections.abc import Callable

from django.utils.safestring import SafeString, mark_safe

VersionPanelProvider = Callable[..., str]
_providers: list[VersionPanelProvider] = []


def register(provider: VersionPanelProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def panels_for(request, version) -> list[SafeString]:
    return [mark_safe(html) for provider in _providers if (html := provider(request, version))]
