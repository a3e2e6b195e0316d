"""Log-in that slows a targeted account instead of letting anyone lock it.

django-axes locks a (username, real client address) pair for its cool-off after
``AXES_FAILURE_LIMIT`` failures: an attacker elsewhere locks only themselves. Per account, from
every address together, failures beyond ``LOGIN_SLOWDOWN_AFTER`` make the next attempt wait 2,
4, 8 ... seconds up to ``LOGIN_SLOWDOWN_MAX_SECONDS``: password guessing spread over many
addresses gets about one try a minute, and the account's owner waits at most that long.

The state lives in the cache (locmem or Redis) under a hash of the username. Only one attempt
is let through per waiting period, even when many arrive at once (``cache.add`` is atomic), and
refused attempts count nowhere: neither here nor in axes."""

import hashlib
import math
import time

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import ValidationError

from scaling_ops.forms import PASSWORD_MAX_LENGTH

# A claim outlives any real password check; a request that died mid-check frees it by then.
CLAIM_SECONDS = 30


def now() -> float:
    """The slow-down's clock (tests replace it, so no test waits on the wall clock)."""
    return time.time()


def _key(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    return f"login-slowdown:{digest}"


def _window_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def login_delay_for(failures: int) -> int:
    """Seconds to wait after the ``failures``-th failure in a row (0 while under the limit)."""
    over = failures - settings.LOGIN_SLOWDOWN_AFTER
    if over < 0:
        return 0
    return min(2 ** (over + 1), settings.LOGIN_SLOWDOWN_MAX_SECONDS)


def login_attempt_wait(*, username: str) -> int:
    """0 when an attempt for ``username`` may check its password now (and, when the account is
    being slowed, claims the one attempt of this period); else the seconds to wait."""
    key = _key(username)
    failures = cache.get(key, 0)
    if failures < settings.LOGIN_SLOWDOWN_AFTER:
        return 0
    until = cache.get(f"{key}:until", 0)
    if now() < until:
        return math.ceil(until - now())
    # Keyed by this failure's deadline: one claim per waiting period, stale ones never match.
    if cache.add(f"{key}:claim:{failures}:{until}", 1, CLAIM_SECONDS):
        return 0
    return 1


def login_failure_record(*, username: str) -> int:
    """Counts a failed password check for ``username``; returns the seconds the next attempt
    must wait."""
    key = _key(username)
    cache.add(key, 0, _window_seconds())
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, _window_seconds())
        failures = 1
    cache.touch(key, _window_seconds())
    delay = login_delay_for(failures)
    if delay:
        cache.set(f"{key}:until", now() + delay, _window_seconds())
    return delay


def login_slowdown_reset(*, username: str) -> None:
    key = _key(username)
    cache.delete_many([key, f"{key}:until"])


class SlowdownMixin:
    """For an ``AuthenticationForm``: the account's slow-down is checked before the password."""

    slowed_message = "Too many attempts for this account; try again in %(wait)s."
    last_attempt_message = (
        "One more failed attempt locks this account for %(minutes)s minutes from this address."
    )
    retry_after = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or self.cleaned_data.get("password") is None:
            return super().clean()
        # A pair axes has locked gets axes' lockout page, not a wait it would only be refused
        # after; its refused attempts check no password, so they count nowhere.
        locked = AxesProxyHandler.is_locked(self.request, {"username": username})
        if not locked:
            wait = login_attempt_wait(username=username)
            if wait:
                self.retry_after = wait
                raise ValidationError(
                    self.slowed_message, code="slowed",
                    params={"wait": f"{wait} second" + ("" if wait == 1 else "s")},
                )  # fmt: skip
        try:
            cleaned = super().clean()
        except ValidationError as error:
            # The failure that makes axes lock the pair still counts for the account.
            if error.code == "invalid_login" and not locked:
                login_failure_record(username=username)
                # Axes has counted this failure already (its signal fires inside authenticate):
                # warn while one attempt is left, not after the lock.
                failures = AxesProxyHandler.get_failures(self.request, {"username": username})
                if failures == settings.AXES_FAILURE_LIMIT - 1:
                    minutes = _window_seconds() // 60
                    warning = ValidationError(
                        self.last_attempt_message, code="last_attempt", params={"minutes": minutes}
                    )
                    raise ValidationError([error, warning]) from None
            raise
        login_slowdown_reset(username=username)
        return cleaned


def _bounded_password() -> forms.CharField:
    return forms.CharField(
        label="Password",
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SlowedLoginForm(SlowdownMixin, AuthenticationForm):
    password = _bounded_password()


class SlowedAdminLoginForm(SlowdownMixin, AdminAuthenticationForm):
    password = _bounded_password()


class SlowedLoginView(LoginView):
    form_class = SlowedLoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response
