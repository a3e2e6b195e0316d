"""Login lockout (django-axes): by username and IP, after AXES_FAILURE_LIMIT (5) failures, even
the right password is refused with the lockout page; a success before the limit starts the count
again; other accounts and other addresses are not locked (the account is only slowed for a few
seconds elsewhere: tests/security/test_login_slowdown.py)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

PASSWORD = "correct-horse-2026"


@pytest.fixture
def sam(personas):
    personas.supervisor.set_password(PASSWORD)
    personas.supervisor.save()
    return personas.supervisor


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client: Client, username: str, times: int, ip: str = "10.0.0.1") -> list[int]:
    return [attempt(client, username, "not-the-password", ip).status_code for _ in range(times)]


def test_the_limit_is_five_failures(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_after_the_limit_even_the_right_password_is_refused(sam):
    client = Client()
    statuses = fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1)
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with a message
    locked = attempt(client, "sam", "not-the-password")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()

    right = attempt(client, "sam", PASSWORD)
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/o/acme/").status_code == 302  # still anonymous: sent to the login page


def test_a_success_before_the_limit_starts_the_count_again(sam):
    client = Client()
    fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1)
    assert attempt(client, "sam", PASSWORD).status_code == 302
    client.logout()
    assert fail(client, "sam", settings.AXES_FAILURE_LIMIT - 1) == [200] * (
        settings.AXES_FAILURE_LIMIT - 1
    )
    assert attempt(client, "sam", PASSWORD).status_code == 302


def test_the_lockout_is_per_username_and_address(personas, sam, clock):
    personas.admin.set_password(PASSWORD)
    personas.admin.save()
    client = Client()
    fail(client, "sam", settings.AXES_FAILURE_LIMIT)
    assert attempt(client, "sam", PASSWORD).status_code == 429
    # Another account from the same address, and the same account from elsewhere, still work:
    # the account from elsewhere once its slow-down (seconds, not the lock's minutes) has passed.
    assert attempt(Client(), "alice", PASSWORD).status_code == 302
    assert attempt(Client(), "sam", PASSWORD, ip="10.0.0.2").status_code == 429
    clock.advance(2)
    assert attempt(Client(), "sam", PASSWORD, ip="10.0.0.2").status_code == 302
    assert attempt(client, "sam", PASSWORD).status_code == 429  # the locked pair stays locked


def test_an_unknown_username_is_locked_out_the_same_way(personas):
    client = Client()
    fail(client, "nobody", settings.AXES_FAILURE_LIMIT)
    assert attempt(client, "nobody", "anything").status_code == 429
