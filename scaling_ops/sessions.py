"""Idle session timeout for people using the pages in a browser."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url

LAST_SEEN_KEY = "scaling_ops_last_seen"
# The stored time moves on at most once a minute, so an active session is not written back to
# the session store on every request.
GRANULARITY_SECONDS = 60


class IdleTimeoutMiddleware:
    """Logs out a browser session after ``SESSION_IDLE_MINUTES`` without a request. The partner
    API authenticates each call by key and never has a session, so ``/api/`` is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/") or not request.user.is_authenticated:
            return self.get_response(request)
        now = int(time.time())
        last_seen = request.session.get(LAST_SEEN_KEY)
        if last_seen is not None and now - last_seen > settings.SESSION_IDLE_MINUTES * 60:
            return self._signed_out(request)
        if last_seen is None or now - last_seen >= GRANULARITY_SECONDS:
            request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)

    def _signed_out(self, request):
        logout(request)
        minutes = settings.SESSION_IDLE_MINUTES
        messages.info(request, f"You were signed out after {minutes} minutes without activity.")
        next_url = request.get_full_path() if request.method == "GET" else "/"
        if getattr(request, "htmx", False):
            # A fragment request: the page itself goes to the login, not the swapped-in part.
            next_url = request.htmx.current_url_abs_path or "/"
        login_url = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': next_url})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = login_url
            return response
        return redirect(login_url)


def mark_seen_at_login(sender, request, user, **kwargs):
    """A fresh login starts a fresh idle clock, whatever the session held before."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_SEEN_KEY] = int(time.time())
