"""Panels a higher app adds to a pathway version's page (e.g. the change proposal, evidence and
evaluation behind a version), so that pathways never imports the apps above it. A provider is
registered into ``pathways.extension_points.version_panels`` in ``AppConfig.ready``, takes
(request, version) and returns HTML (already escaped, e.g. from ``render_to_string``) or an empty
string."""

from django.utils.safestring import SafeString, mark_safe

from pathways.extension_points import version_panels


def panels_for(request, version) -> list[SafeString]:
    return [
        mark_safe(html)
        for provider in version_panels.providers()
        if (html := provider(request, version))
    ]
