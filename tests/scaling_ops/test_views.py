import pytest
from django.test import Client

from scaling_ops import services, tenancy
from scaling_ops.models import Role, Site


def test_a_user_with_one_organisation_lands_on_its_home(personas):
    response = personas.client(personas.supervisor).get("/")
    assert response.status_code == 302
    assert response["Location"] == "/o/acme/"


def test_a_user_in_several_organisations_gets_a_picker(personas):
    services.membership_set(
        user=personas.commissioner, organization=personas.other_org, role=Role.COMMISSIONER
    )
    response = personas.client(personas.commissioner).get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/o/acme/" in body and "/o/globex/" in body


@pytest.mark.parametrize(
    "persona, visible, hidden",
    [
        ("admin", ["Sites", "Members", "Partner keys"], []),
        ("lead", ["Sites"], ["Partner keys", "Members"]),
        ("supervisor", [], ["Sites", "Partner keys"]),
        ("commissioner", [], ["Sites", "Partner keys", "Members"]),
    ],
)
def test_navigation_follows_the_role(personas, persona, visible, hidden):
    response = personas.client(getattr(personas, persona)).get("/o/acme/")
    labels = [item["label"] for item in response.context["navigation"]]
    assert all(label in labels for label in visible)
    assert not any(label in labels for label in hidden)


def test_home_says_the_role(personas):
    response = personas.client(personas.lead).get("/o/acme/")
    assert "implementation lead" in response.content.decode()


def test_supervisor_cannot_open_admin_pages(personas):
    client = personas.client(personas.supervisor)
    assert client.get("/o/acme/keys/").status_code == 403
    assert client.get("/o/acme/members/").status_code == 403


def test_lead_sees_only_site_in_scope_when_not_all_sites(personas):
    services.membership_set(
        user=personas.lead,
        organization=personas.org,
        role=Role.IMPLEMENTATION_LEAD,
        sites=[personas.south],
    )
    client = personas.client(personas.lead)
    codes = [s.code for s in client.get("/o/acme/sites/").context["sites"]]
    assert codes == ["south"]
    assert client.get("/o/acme/sites/north/").status_code == 404


def test_site_moves_through_its_lifecycle_with_history(personas):
    client = personas.client(personas.lead)
    client.post("/o/acme/sites/", {"code": "east", "name": "East", "region": "Coast"})
    assert client.post("/o/acme/sites/east/", {"status": "launching"}).status_code == 302
    with tenancy.scope(personas.org):
        site = Site.objects.get(code="east")
        assert site.status == "launching"
        assert [h.status for h in site.history.order_by("history_date")] == ["planned", "launching"]
        assert site.history.latest().history_user == personas.lead


def test_an_illegal_transition_rerenders_with_a_message(personas):
    client = personas.client(personas.admin)
    with tenancy.scope(personas.org):
        Site.objects.filter(code="south").update(status="planned")
    response = client.post("/o/acme/sites/south/", {"status": "live"})
    assert response.status_code == 200
    assert "cannot move to live" in response.content.decode()
    with tenancy.scope(personas.org):
        assert Site.objects.get(code="south").status == "planned"


def test_duplicate_site_code_is_a_form_error(personas):
    response = personas.client(personas.admin).post(
        "/o/acme/sites/", {"code": "north", "name": "N"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_login_page_logs_in_and_lands_home(personas):
    personas.admin.set_password("pw-for-test-123")
    personas.admin.save()
    client = Client()
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-test-123"})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_login_is_locked_after_repeated_failures(personas):
    personas.admin.set_password("pw-for-test-123")
    personas.admin.save()
    client = Client()
    for _ in range(5):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-test-123"})
    assert response.status_code == 429
    assert "Too many failed" in response.content.decode()


def test_an_empty_login_names_each_missing_field(personas):
    response = Client().post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter your username." in body
    assert "Enter your password." in body


def test_the_last_attempt_before_the_lockout_is_warned_and_the_lockout_says_how_long(personas):
    personas.admin.set_password("pw-for-test-123")
    personas.admin.save()
    client = Client()
    warning = "One more failed attempt locks this account for 15 minutes from this address."
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        assert "Please enter a correct username and password" in response.content.decode()
        assert warning not in response.content.decode()
    fourth = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert warning in fourth.content.decode()
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    locked = client.post("/accounts/login/", {"username": "alice", "password": "pw-for-test-123"})
    assert locked.status_code == 429
    assert "locked for 15 minutes from this address" in locked.content.decode()
