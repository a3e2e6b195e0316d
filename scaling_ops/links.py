"""An organisation's page as a path, for code that names a page outside a request (notices,
figures that link to their source): one way to build it, so a URL that moves moves everywhere."""

from urllib.parse import urlencode

from django.urls import reverse


def org_path(organization, name: str, *, query: dict | None = None, **kwargs) -> str:
    """The path of the URL named ``name`` in ``organization`` with ``kwargs``, and ``query``
    (in its order) as the query string."""
    path = reverse(name, kwargs={"org": organization.slug, **kwargs})
    return f"{path}?{urlencode(query)}" if query else path
