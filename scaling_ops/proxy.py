"""The real client address behind ``settings.TRUSTED_PROXY_COUNT`` reverse proxies.

Each proxy appends the address it received the request from to ``X-Forwarded-For``, so with N
trusted proxies the client is the N-th entry from the right; anything further left was written
by the client and proves nothing. With no proxies (the default) only the connecting address
counts and the header is ignored."""

import ipaddress

from django.conf import settings


def client_address(request) -> str | None:
    """Used by django-axes (``AXES_CLIENT_IP_CALLABLE``) and the log-in slow-down."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count == 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [e for e in entries if e]
    # Fewer entries than proxies: the request did not come through them all; trust only the peer.
    if len(entries) < count:
        return remote
    candidate = entries[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
