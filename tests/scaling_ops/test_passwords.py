"""Password change for a logged-in user and reset by email (Django's own views, our templates),
with the same neutral answer whether or not an account has the address."""

import re

from django.contrib.auth import get_user_model
from django.test import Client

from tests.factories import UserFactory

User = get_user_model()
RESET_LINK = re.compile(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def test_the_user_menu_and_login_page_link_to_them(personas):
    page = personas.client(personas.supervisor).get("/o/acme/").content.decode()
    assert 'href="/accounts/password/change/"' in page
    login = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/password/reset/"' in login


def test_a_logged_in_user_changes_their_password_and_stays_logged_in(personas):
    client = personas.client(personas.supervisor)
    response = client.post(
        "/accounts/password/change/",
        {
            "old_password": "correct horse battery staple",
            "new_password1": "a-new-long-phrase-26",
            "new_password2": "a-new-long-phrase-26",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/done/"
    assert "Password changed" in client.get(response["Location"]).content.decode()
    assert client.get("/o/acme/").status_code == 200
    personas.supervisor.refresh_from_db()
    assert personas.supervisor.check_password("a-new-long-phrase-26")


def test_a_wrong_old_password_or_a_weak_new_one_rerenders_with_messages(personas):
    client = personas.client(personas.supervisor)
    wrong = client.post(
        "/accounts/password/change/",
        {"old_password": "nope", "new_password1": "x", "new_password2": "x"},
    )
    body = wrong.content.decode()
    assert wrong.status_code == 200
    assert "Your old password was entered incorrectly" in body
    assert "too short" in body
    personas.supervisor.refresh_from_db()
    assert personas.supervisor.check_password("correct horse battery staple")


def test_changing_a_password_needs_a_login(db):
    response = Client().get("/accounts/password/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_reset_answers_the_same_for_known_and_unknown_addresses(db, mailoutbox):
    UserFactory(username="kim", email="kim@example.org")
    client = Client()
    known = client.post("/accounts/password/reset/", {"email": "kim@example.org"}, follow=True)
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.org"}, follow=True)
    assert (
        known.redirect_chain == unknown.redirect_chain == [("/accounts/password/reset/sent/", 302)]
    )
    csrf = re.compile(r'"X-CSRFToken": "[^"]+"')
    assert csrf.sub("", known.content.decode()) == csrf.sub("", unknown.content.decode())
    assert "If an account exists for that address" in known.content.decode()
    assert [mail.to for mail in mailoutbox] == [["kim@example.org"]]


def test_the_emailed_link_sets_a_new_password_once(db, mailoutbox):
    kim = UserFactory(username="kim", email="kim@example.org")
    client = Client()
    client.post("/accounts/password/reset/", {"email": "kim@example.org"})
    link = RESET_LINK.search(mailoutbox[0].body)[1]
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "reset-long-phrase-26", "new_password2": "reset-long-phrase-26"}
    )
    assert done["Location"] == "/accounts/password/reset/complete/"
    kim.refresh_from_db()
    assert kim.check_password("reset-long-phrase-26")
    again = Client().get(link, follow=True)
    assert "This link cannot be used" in again.content.decode()
