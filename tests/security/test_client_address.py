"""The real client address behind the production proxy (TRUSTED_PROXY_COUNT): the lock is per
(username, client), not per (username, proxy); a client-written X-Forwarded-For entry is never
trusted."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse

from scaling_ops.proxy import client_address
from tests.scaling_ops.test_settings import PRODUCTION_ENV, manage

PASSWORD = "correct-horse-2026"
PROXY = "172.18.0.5"  # every request reaches gunicorn from the proxy's address
VICTIM, ATTACKER = "198.51.100.7", "203.0.113.9"


def address(forwarded: str | None = None, remote: str = PROXY) -> str | None:
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **extra))


def via_proxy(username: str, password: str, client_ip: str, spoofed: str = ""):
    """A log-in through one proxy that appends the address it saw to what the client sent."""
    forwarded = f"{spoofed}, {client_ip}" if spoofed else client_ip
    return Client().post(
        reverse("login"), {"username": username, "password": password},
        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded,
    )  # fmt: skip


@pytest.fixture
def behind_one_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1


@pytest.fixture
def sam(personas):
    personas.supervisor.set_password(PASSWORD)
    personas.supervisor.save()
    return personas.supervisor


def test_without_proxies_the_header_is_ignored(settings):
    assert settings.TRUSTED_PROXY_COUNT == 0
    assert address("1.2.3.4", remote="10.0.0.1") == "10.0.0.1"


def test_with_one_proxy_only_the_right_most_entry_counts(behind_one_proxy):
    assert address(VICTIM) == VICTIM
    assert address(f"{VICTIM}, {ATTACKER}") == ATTACKER  # the client wrote the left one
    assert address(f"1.1.1.1,2.2.2.2 , {ATTACKER}") == ATTACKER


def test_with_two_proxies_the_second_from_the_right_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert address(f"6.6.6.6, {VICTIM}, 10.1.1.1") == VICTIM


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address", "1.2.3.4:80"])
def test_a_missing_or_malformed_header_falls_back_to_the_connecting_address(
    behind_one_proxy, forwarded
):
    assert address(forwarded) == PROXY


def test_two_users_behind_one_proxy_are_locked_apart(behind_one_proxy, sam, clock):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        via_proxy("sam", "guess", ATTACKER)
    assert via_proxy("sam", PASSWORD, ATTACKER).status_code == 429
    # Without the header the proxy's address was everyone's, so sam was locked for 15 minutes.
    clock.advance(2)  # the account's slow-down, seconds
    assert via_proxy("sam", PASSWORD, VICTIM).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_a_spoofed_entry_neither_frames_another_client_nor_escapes_the_lock(
    behind_one_proxy, sam, clock
):
    # The attacker claims to be the victim, and a new address each time.
    for n in range(settings.AXES_FAILURE_LIMIT):
        via_proxy("sam", "guess", ATTACKER, spoofed=f"{VICTIM}, 10.9.9.{n}")
    clock.advance(60)
    assert via_proxy("sam", PASSWORD, ATTACKER, spoofed="10.9.9.99").status_code == 429
    assert via_proxy("sam", PASSWORD, VICTIM).status_code == 302


def test_without_proxies_a_spoofed_header_does_not_escape_the_lock(sam, clock):
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": "sam", "password": "guess"},
                      REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")  # fmt: skip
    clock.advance(60)
    locked = Client().post(reverse("login"), {"username": "sam", "password": PASSWORD},
                           REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=VICTIM)  # fmt: skip
    assert locked.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}


def test_a_negative_proxy_count_stops_start_up():
    result = manage("check", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "-1"})
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT=-1 must be 0 or more" in result.stderr
