"""Per-account slow-down: failures for one username from any address make its next attempt wait a
few seconds (growing, capped at a minute), so an attacker can slow an account but never lock its
owner out; the lock by (username, address) is django-axes' and unchanged."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from scaling_ops.login import login_attempt_wait, login_failure_record, login_slowdown_reset
from tests.faults.services import require_redis

PASSWORD = "correct-horse-2026"
SLOWED = "Too many attempts for this account; try again in"


@pytest.fixture
def sam(personas):
    personas.supervisor.set_password(PASSWORD)
    personas.supervisor.save()
    return personas.supervisor


def attempt(username: str, password: str, ip: str, path: str = "login"):
    return Client().post(
        reverse(path), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail_from_many_addresses(username: str, times: int, clock) -> None:
    """``times`` failures, each from its own address, waiting out any slow-down in between."""
    for n in range(times):
        response = attempt(username, "not-the-password", f"203.0.113.{n + 1}")
        if response.status_code == 429:
            clock.advance(int(response["Retry-After"]))
            response = attempt(username, "not-the-password", f"203.0.113.{n + 1}")
        assert response.status_code == 200, response.status_code


def test_the_slow_down_message_appears_and_expires(sam, clock):
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    slowed = attempt("sam", PASSWORD, "198.51.100.7")
    assert slowed.status_code == 429
    assert f"{SLOWED} 2 seconds." in slowed.content.decode()
    assert slowed["Retry-After"] == "2"
    clock.advance(1)
    assert f"{SLOWED} 1 second." in attempt("sam", PASSWORD, "198.51.100.7").content.decode()
    clock.advance(1)
    assert attempt("sam", PASSWORD, "198.51.100.7").status_code == 302


def test_an_attacker_elsewhere_cannot_lock_the_owner_out(sam, clock):
    # The attacker fails from one address until axes locks that pair, and keeps trying.
    for _ in range(settings.AXES_FAILURE_LIMIT + 5):
        attempt("sam", "guess", "203.0.113.9")
    assert attempt("sam", PASSWORD, "203.0.113.9").status_code == 429  # their pair is locked
    # The owner waits seconds, not the lock's 15 minutes.
    owner = attempt("sam", PASSWORD, "198.51.100.7")
    assert owner.status_code == 429 and int(owner["Retry-After"]) <= 60
    clock.advance(int(owner["Retry-After"]))
    assert attempt("sam", PASSWORD, "198.51.100.7").status_code == 302


def test_the_wait_grows_with_each_failure_up_to_a_minute(sam, clock):
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    waits = []
    for n in range(8):
        response = attempt("sam", "not-the-password", f"192.0.2.{n + 1}")
        waits.append(int(response["Retry-After"]))
        clock.advance(waits[-1])
        assert attempt("sam", "not-the-password", f"192.0.2.{n + 1}").status_code == 200
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]


def test_a_refused_attempt_checks_no_password_and_counts_nowhere(sam, clock):
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    stored = sum(AccessAttempt.objects.values_list("failures_since_start", flat=True))
    for _ in range(5):
        assert attempt("sam", "not-the-password", "198.51.100.7").status_code == 429
    assert sum(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == stored
    clock.advance(2)
    attempt("sam", "not-the-password", "198.51.100.7")
    # The next wait is the one after the sixth failure, not after eleven.
    assert attempt("sam", PASSWORD, "198.51.100.8")["Retry-After"] == "4"


def test_a_success_starts_the_count_again(sam, clock):
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    clock.advance(2)
    assert attempt("sam", PASSWORD, "198.51.100.7").status_code == 302
    assert attempt("sam", "not-the-password", "198.51.100.7").status_code == 200
    assert attempt("sam", PASSWORD, "198.51.100.7").status_code == 302


def test_other_accounts_are_not_slowed(personas, sam, clock):
    personas.admin.set_password(PASSWORD)
    personas.admin.save()
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    assert attempt("alice", PASSWORD, "203.0.113.1").status_code == 302


def test_the_username_is_matched_without_case(sam, clock):
    fail_from_many_addresses("SAM", settings.LOGIN_SLOWDOWN_AFTER, clock)
    assert attempt("sam", PASSWORD, "198.51.100.7").status_code == 429


def test_the_admin_log_in_is_slowed_too(sam, clock):
    fail_from_many_addresses("sam", settings.LOGIN_SLOWDOWN_AFTER, clock)
    response = attempt("sam", PASSWORD, "198.51.100.7", path="admin:login")
    assert SLOWED in response.content.decode()


def test_only_one_attempt_passes_per_waiting_period(db, clock):
    for _ in range(settings.LOGIN_SLOWDOWN_AFTER):
        login_failure_record(username="sam")
    clock.advance(2)
    # Two requests arriving together after the wait: one checks its password, one waits.
    assert login_attempt_wait(username="sam") == 0
    assert login_attempt_wait(username="sam") == 1
    login_failure_record(username="sam")
    assert login_attempt_wait(username="sam") == 4


@pytest.mark.redis
def test_the_slow_down_works_on_redis(settings, clock):
    url = require_redis()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    }
    try:
        for _ in range(settings.LOGIN_SLOWDOWN_AFTER):
            login_failure_record(username="redis-sam")
        assert login_attempt_wait(username="redis-sam") == 2
        clock.advance(2)
        assert login_attempt_wait(username="redis-sam") == 0
        assert login_attempt_wait(username="redis-sam") == 1
    finally:
        login_slowdown_reset(username="redis-sam")  # the server may be shared: only our keys
