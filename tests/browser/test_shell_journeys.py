import pytest


@pytest.mark.parametrize(
    "persona, role_label",
    [
        ("admin", "Org admin"),
        ("lead", "Implementation lead"),
        ("supervisor", "Supervisor"),
        ("commissioner", "Commissioner"),
    ],
)
def test_each_role_logs_in_and_lands_on_its_home(
    page, live_server, personas, log_in, persona, role_label
):
    log_in(page, getattr(personas, persona))
    assert page.url == f"{live_server.url}/o/acme/"
    assert page.locator("h1").inner_text() == "Acme Community Services"
    assert page.locator("header .badge").inner_text() == role_label


def test_an_outsider_is_refused_another_organisation(page, live_server, personas, log_in):
    log_in(page, personas.outsider)
    response = page.goto(f"{live_server.url}/o/acme/")
    assert response.status == 404


def test_a_wrong_password_rerenders_the_form_with_a_message(page, live_server, personas, log_in):
    log_in(page, personas.admin)  # sets the passwords
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    assert "correct username and password" in page.locator(".errorlist").inner_text()
