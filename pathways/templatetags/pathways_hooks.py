"""Template side of pathways' hooks for the apps above it (``pathways.item_links``)."""

from django import template
from django.middleware.csrf import get_token
from django.utils.html import format_html, format_html_join

from pathways import item_links as registry

register = template.Library()


@register.simple_tag(takes_context=True)
def item_links(context, item, detail=False):
    """The registered links of an exception item: plain links, or one-click POST buttons."""
    request = context.get("request")
    links = registry.links_for(request, item, detail=bool(detail))
    if not links:
        return ""
    token = get_token(request)
    parts = []
    for link in links:
        if link.method == "post":
            parts.append(
                format_html(
                    '<form method="post" action="{}" class="inline">'
                    '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'
                    '<button type="submit" class="secondary">{}</button></form>',
                    link.url,
                    token,
                    link.label,
                )
            )
        else:
            parts.append(format_html('<a href="{}">{}</a>', link.url, link.label))
    return format_html(
        '<div class="item-links">{}</div>', format_html_join(" ", "{}", ((p,) for p in parts))
    )
