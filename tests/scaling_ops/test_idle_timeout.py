"""Idle session timeout: a browser session left alone longer than SESSION_IDLE_MINUTES is signed
out with a message; htmx gets HX-Redirect; the partner API (key, no session) is unaffected. The
session's last-seen time is moved back instead of waiting."""

import time

from scaling_ops import services, tenancy
from scaling_ops.sessions import LAST_SEEN_KEY
from tests.scaling_ops.test_settings import manage


def idle_for(client, minutes: float) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time() - minutes * 60)
    session.save()


def test_the_default_is_thirty_minutes(settings):
    assert settings.SESSION_IDLE_MINUTES == 30


def test_a_session_idle_too_long_is_signed_out_with_a_message(personas):
    client = personas.client(personas.supervisor)
    idle_for(client, 31)
    response = client.get("/o/acme/exceptions/?site=north")
    assert response.status_code == 302
    assert (
        response["Location"] == "/accounts/login/?next=%2Fo%2Facme%2Fexceptions%2F%3Fsite%3Dnorth"
    )
    login_page = client.get(response["Location"])
    assert "You were signed out after 30 minutes without activity." in login_page.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/o/acme/").status_code == 302


def test_an_active_session_stays(personas):
    client = personas.client(personas.supervisor)
    idle_for(client, 29)
    assert client.get("/o/acme/").status_code == 200
    assert time.time() - client.session[LAST_SEEN_KEY] < 60


def test_the_limit_follows_the_setting(personas, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client = personas.client(personas.supervisor)
    idle_for(client, 6)
    response = client.get("/o/acme/", follow=True)
    assert "signed out after 5 minutes" in response.content.decode()


def test_htmx_requests_get_hx_redirect_to_the_page_not_the_fragment(personas):
    client = personas.client(personas.supervisor)
    idle_for(client, 31)
    response = client.post(
        "/o/acme/exceptions/1/assign/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/o/acme/exceptions/",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fo%2Facme%2Fexceptions%2F"
    assert "_auth_user_id" not in client.session


def test_a_new_login_starts_a_fresh_clock(personas):
    client = personas.client(personas.supervisor)
    idle_for(client, 31)
    client.force_login(personas.supervisor)
    assert client.get("/o/acme/").status_code == 200


def test_the_partner_api_is_unaffected(personas, settings):
    settings.SESSION_IDLE_MINUTES = 1
    with tenancy.scope(personas.org):
        _, raw_key = services.partner_key_create(name="k", sites=[personas.north])
    client = personas.client(personas.supervisor)
    idle_for(client, 120)
    response = client.get("/api/v1/cases/C-NONE/", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "HX-Redirect" not in response


def test_a_bad_value_stops_start_up():
    result = manage("check", env={"DEBUG": "1", "SESSION_IDLE_MINUTES": "0"})
    assert result.returncode != 0
    assert "SESSION_IDLE_MINUTES=0 must be 1 or more" in result.stderr
    result = manage("check", env={"DEBUG": "1", "SESSION_IDLE_MINUTES": "half an hour"})
    assert "SESSION_IDLE_MINUTES='half an hour' is not an integer" in result.stderr
