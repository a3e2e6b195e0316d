"""The 403 / 404 / 500 pages: inside the app shell, with the reason in a sentence and a way back."""

from django.test import Client, override_settings
from django.urls import path

from scaling_ops import urls as project_urls


def test_a_commissioner_write_gets_the_styled_403_with_the_reason_and_a_way_home(personas):
    response = personas.client(personas.commissioner).post("/o/acme/sites/")
    assert response.status_code == 403
    body = response.content.decode()
    assert "You cannot do that here" in body
    assert "Your role is read-only in this organisation." in body
    assert 'href="/o/acme/"' in body
    assert "Acme Community Services" in body
    assert "app.css" in body


def test_an_outsider_gets_the_styled_404_that_reveals_nothing(personas):
    response = personas.client(personas.outsider).get("/o/acme/sites/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We could not find that page" in body
    assert "Acme" not in body
    assert 'href="/"' in body
    assert "app.css" in body


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), *project_urls.urlpatterns]


@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_crashing_view_gets_the_styled_500_without_the_tenant(personas):
    client = Client(raise_request_exception=False)
    client.force_login(personas.admin)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert 'href="/"' in body
    assert "app.css" in body


def test_the_partner_api_keeps_its_json_errors(personas):
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code in (401, 404)
    assert response["Content-Type"].startswith("application/json")
    assert b"We could not find that page" not in response.content
