"""Memberships by invitation: an org admin invites an email address, the invitee accepts through
a link outside /o/<org>/, and only then is there a membership. Removal keeps its history."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scaling_ops import services, tenancy
from scaling_ops.models import Invitation, Membership, Role
from tests.factories import UserFactory

User = get_user_model()
MEMBERS_PAGE_QUERIES = 8
LINK = re.compile(r"https?://testserver(/invitations/[^/\s]+/)")
NEUTRAL = "This invitation link cannot be used"
# What differs between two renderings of one page for reasons other than the data: the CSRF token.
CSRF = re.compile(r'csrfmiddlewaretoken" value="[^"]+"|"X-CSRFToken": "[^"]+"')


def invite(personas, email="newbie@example.org", role="supervisor", sites=None, **extra):
    client = personas.client(personas.admin)
    data = {"email": email, "role": role, **extra}
    if sites is not None:
        data["sites"] = [site.pk for site in sites]
    return client.post("/o/acme/members/", data)


def link_of(response) -> str:
    return LINK.search(response.content.decode())[1]


@pytest.fixture
def invited(personas, mailoutbox):
    response = invite(personas, sites=[personas.south])
    assert response.status_code == 200
    return link_of(response)


def test_an_invitation_creates_no_membership_and_stores_only_a_hash(personas, mailoutbox):
    response = invite(personas, sites=[personas.south])
    path = link_of(response)
    token = path.split("/")[2]
    with tenancy.scope(personas.org):
        invitation = Invitation.objects.get()
        assert not Membership.objects.filter(user__email="newbie@example.org").exists()
    assert invitation.token_hash == Invitation.hash_token(token)
    assert token not in str(list(Invitation.dangerously_unscoped.values()))
    assert token not in str(list(Invitation.history.model.objects.values()))
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert "copy it now" in response.content.decode()
    assert 'data-copy="invitation-link"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_the_link_is_emailed_to_the_address(personas, mailoutbox):
    response = invite(personas, sites=[personas.south])
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["newbie@example.org"]
    assert link_of(response) in mail.body
    assert "Acme Community Services" in mail.subject
    assert "Supervisor" in mail.body and personas.south.name in mail.body


def test_a_refused_email_still_leaves_the_link_on_screen(personas, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    response = invite(personas, sites=[personas.south])
    body = response.content.decode()
    assert "could not be sent" in body
    assert link_of(response)


def test_a_new_person_creates_an_account_and_joins_with_the_sites(personas, invited):
    client = Client()
    page = client.get(invited)
    assert page.status_code == 200
    assert "Join Acme Community Services" in page.content.decode()
    response = client.post(
        invited,
        {
            "username": "newbie",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/o/acme/"
    user = User.objects.get(username="newbie")
    assert user.email == "newbie@example.org"
    with tenancy.scope(personas.org):
        membership = Membership.objects.get(user=user)
        invitation = Invitation.objects.get()
    assert membership.role == Role.SUPERVISOR
    assert user.has_perm("scaling_ops.access_site", personas.south)
    assert not user.has_perm("scaling_ops.access_site", personas.north)
    assert invitation.accepted_by == user
    assert client.get("/o/acme/").status_code == 200


def test_an_existing_user_logs_in_then_accepts(personas, invited):
    bob = UserFactory(username="bob")
    client = Client()
    login_link = f"/accounts/login/?next={invited}"
    assert login_link in client.get(invited).content.decode()
    client.force_login(bob)
    assert "logged in as <strong>bob</strong>" in client.get(invited).content.decode()
    response = client.post(invited)
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        assert Membership.objects.get(user=bob).role == Role.SUPERVISOR


def test_a_link_works_once(personas, invited):
    first = Client()
    first.force_login(UserFactory(username="bob"))
    first.post(invited)
    second = Client()
    second.force_login(UserFactory(username="carol"))
    response = second.post(invited)
    assert response.status_code == 404
    assert NEUTRAL in response.content.decode()
    with tenancy.scope(personas.org):
        assert not Membership.objects.filter(user__username="carol").exists()


def neutral_body(client, path) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, CSRF.sub("", response.content.decode())


def test_unknown_expired_used_and_revoked_links_get_one_neutral_answer(personas, mailoutbox):
    links = {}
    for name in ["expired", "used", "revoked"]:
        links[name] = link_of(invite(personas, email=f"{name}@example.org", all_sites="on"))
    with tenancy.scope(personas.org):
        Invitation.objects.filter(email="expired@example.org").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        services.invitation_revoke(invitation=Invitation.objects.get(email="revoked@example.org"))
    accepter = Client()
    accepter.force_login(UserFactory(username="bob"))
    accepter.post(links["used"])
    links["unknown"] = "/invitations/" + "x" * 43 + "/"
    anonymous = Client()
    answers = {name: neutral_body(anonymous, path) for name, path in links.items()}
    assert {status for status, _ in answers.values()} == {404}
    assert len({body for _, body in answers.values()}) == 1
    assert NEUTRAL in answers["unknown"][1]


def test_admin_revokes_a_pending_invitation(personas, invited):
    with tenancy.scope(personas.org):
        invitation = Invitation.objects.get()
    response = personas.client(personas.admin).post(
        f"/o/acme/members/invitations/{invitation.pk}/revoke/"
    )
    assert response.status_code == 302
    assert Client().get(invited).status_code == 404
    with tenancy.scope(personas.org):
        history = Invitation.objects.get().history.order_by("history_date")
        assert history.last().history_user == personas.admin
        assert history.last().revoked_at is not None


def test_another_organisations_invitation_cannot_be_revoked(personas, tenant):
    with tenancy.scope(personas.other_org):
        foreign, _ = services.invitation_create(email="x@example.org", role=Role.ORG_ADMIN)
    response = personas.client(personas.admin).post(
        f"/o/acme/members/invitations/{foreign.pk}/revoke/"
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_the_accept_page_shows_only_its_own_organisation(personas, mailoutbox):
    services.membership_set(
        user=personas.outsider, organization=personas.other_org, role=Role.ORG_ADMIN
    )
    with tenancy.scope(personas.other_org):
        services.invitation_create(email="spy@example.org", role=Role.SUPERVISOR, all_sites=True)
    path = link_of(invite(personas, sites=[personas.north]))
    body = Client().get(path).content.decode()
    assert "Acme Community Services" in body
    assert "Globex" not in body and "oscar" not in body and "spy@example.org" not in body


def test_a_token_for_one_organisation_never_makes_a_member_of_another(personas, invited):
    client = Client()
    client.force_login(personas.outsider)  # org admin of Globex, not a member of Acme
    # No org in the link: the invitation decides, whatever the request carries.
    response = client.post(invited, {"organization": personas.other_org.pk, "org": "globex"})
    assert response["Location"] == "/o/acme/"
    with tenancy.scope(personas.other_org):
        assert Membership.objects.get(user=personas.outsider).role == Role.ORG_ADMIN
        assert Membership.objects.count() == 1
    with tenancy.scope(personas.org):
        assert Membership.objects.get(user=personas.outsider).role == Role.SUPERVISOR
    assert not personas.outsider.has_perm("scaling_ops.access_site", personas.other_site)


def test_an_invitation_cannot_offer_another_organisations_site(personas, tenant):
    with pytest.raises(ValidationError) as refused:
        services.invitation_create(
            email="x@example.org", role=Role.SUPERVISOR, sites=[personas.other_site]
        )
    assert "sites" in refused.value.message_dict
    assert not Invitation.objects.exists()


def test_the_invite_form_refuses_another_organisations_site(personas, mailoutbox):
    response = invite(personas, sites=[personas.other_site])
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert mailoutbox == []


def test_a_site_scoped_role_needs_sites(personas, mailoutbox):
    response = invite(personas)
    assert "Tick the sites this person will work with" in response.content.decode()
    assert not Invitation.dangerously_unscoped.exists()
    assert mailoutbox == []


def test_a_bad_email_is_named(personas):
    response = invite(personas, email="not-an-address", all_sites="on")
    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert not Invitation.dangerously_unscoped.exists()


def test_a_second_pending_invitation_to_one_address_is_refused(personas, invited):
    response = invite(personas, email="NEWBIE@example.org", all_sites="on")
    assert "already pending" in response.content.decode()
    assert Invitation.dangerously_unscoped.count() == 1


def test_inviting_says_the_same_whether_or_not_the_address_has_an_account(personas, mailoutbox):
    UserFactory(username="known", email="known@example.org")
    varying = re.compile(r"/invitations/[^/\s]+/|\d{4}-\d\d-\d\d \d\d:\d\d")
    answers = []
    for email in ["known@example.org", "nobody@example.org"]:
        response = invite(personas, email=email, all_sites="on")
        answers.append(varying.sub("", CSRF.sub("", response.content.decode().replace(email, ""))))
        Invitation.dangerously_unscoped.all().delete()
    assert answers[0] == answers[1]
    assert [mail.to for mail in mailoutbox] == [["known@example.org"], ["nobody@example.org"]]


def test_a_taken_username_gets_the_neutral_answer_and_nothing_is_stored(personas, invited):
    UserFactory(username="Taken")
    response = Client().post(
        invited,
        {"username": "taken", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This username cannot be used; choose another one." in body
    assert "already exists" not in body
    assert not User.objects.filter(email="newbie@example.org").exists()
    with tenancy.scope(personas.org):
        assert Invitation.objects.get().is_pending


@pytest.mark.parametrize(
    "password1, password2, message",
    [
        ("short", "short", "too short"),
        ("password123", "password123", "too common"),
        ("a-long-pass-phrase", "another-phrase", "The two passwords differ"),
    ],
)
def test_a_weak_or_mistyped_password_rerenders_the_form(
    personas, invited, password1, password2, message
):
    response = Client().post(
        invited, {"username": "newbie", "password1": password1, "password2": password2}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_an_existing_member_cannot_accept_over_their_role(personas, invited):
    response = personas.client(personas.lead).post(invited, follow=True)
    assert "already a member of Acme Community Services" in response.content.decode()
    with tenancy.scope(personas.org):
        assert Membership.objects.get(user=personas.lead).role == Role.IMPLEMENTATION_LEAD
        assert Invitation.objects.get().is_pending


def test_admin_removes_a_member_with_history(personas):
    client = personas.client(personas.admin)
    with tenancy.scope(personas.org):
        sam = Membership.objects.get(user=personas.supervisor)
    response = client.post(f"/o/acme/members/{sam.pk}/remove/")
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        assert not Membership.objects.filter(user=personas.supervisor).exists()
    assert not personas.supervisor.has_perm("scaling_ops.access_site", personas.north)
    assert personas.client(personas.supervisor).get("/o/acme/").status_code == 404
    page = client.get("/o/acme/members/").content.decode()
    assert re.search(r"<td>alice</td>\s*<td>removed</td>\s*<td>sam</td>", page)


def test_the_members_page_says_who_added_whom(personas, invited):
    bob = UserFactory(username="bob")
    client = Client()
    client.force_login(bob)
    client.post(invited)
    page = personas.client(personas.admin).get("/o/acme/members/").content.decode()
    assert re.search(
        r"<td>bob</td>\s*<td>joined</td>\s*<td>bob</td>\s*<td>Supervisor</td>\s*"
        r"<td>accepted the invitation from alice</td>",
        page,
    )


def test_the_last_org_admin_cannot_be_removed(personas):
    with tenancy.scope(personas.org):
        alice = Membership.objects.get(user=personas.admin)
    client = personas.client(personas.admin)
    response = client.post(f"/o/acme/members/{alice.pk}/remove/", follow=True)
    assert "alice is the only org admin" in response.content.decode()
    with tenancy.scope(personas.org):
        assert Membership.objects.filter(pk=alice.pk).exists()


def test_the_last_org_admin_cannot_be_demoted(personas):
    with tenancy.scope(personas.org):
        alice = Membership.objects.get(user=personas.admin)
    response = personas.client(personas.admin).post(
        f"/o/acme/members/{alice.pk}/", {"role": "supervisor", "all_sites": "on"}
    )
    assert response.status_code == 200
    assert "alice is the only org admin" in response.content.decode()
    with tenancy.scope(personas.org):
        assert Membership.objects.get(pk=alice.pk).role == Role.ORG_ADMIN


def test_an_admin_may_go_once_another_admin_exists(personas):
    services.membership_set(user=personas.lead, organization=personas.org, role=Role.ORG_ADMIN)
    with tenancy.scope(personas.org):
        alice = Membership.objects.get(user=personas.admin)
    personas.client(personas.lead).post(f"/o/acme/members/{alice.pk}/remove/")
    with tenancy.scope(personas.org):
        assert not Membership.objects.filter(pk=alice.pk).exists()


def test_admin_changes_a_members_role_and_sites(personas):
    with tenancy.scope(personas.org):
        sam = Membership.objects.get(user=personas.supervisor)
    client = personas.client(personas.admin)
    page = client.get(f"/o/acme/members/{sam.pk}/")
    assert page.context["form"].initial["sites"] == [personas.north]
    response = client.post(
        f"/o/acme/members/{sam.pk}/", {"role": "supervisor", "sites": [personas.south.pk]}
    )
    assert response.status_code == 302
    assert personas.supervisor.has_perm("scaling_ops.access_site", personas.south)
    assert not personas.supervisor.has_perm("scaling_ops.access_site", personas.north)


def test_another_organisations_member_is_not_found(personas):
    with tenancy.scope(personas.other_org):
        oscar = Membership.objects.get(user=personas.outsider)
    client = personas.client(personas.admin)
    assert client.get(f"/o/acme/members/{oscar.pk}/").status_code == 404
    assert client.post(f"/o/acme/members/{oscar.pk}/remove/").status_code == 404
    with tenancy.scope(personas.other_org):
        assert Membership.objects.filter(pk=oscar.pk).exists()


@pytest.mark.parametrize("persona", ["lead", "supervisor"])
def test_only_org_admins_invite_or_remove(personas, persona):
    client = personas.client(getattr(personas, persona))
    with tenancy.scope(personas.org):
        sam = Membership.objects.get(user=personas.supervisor)
    assert client.post("/o/acme/members/", {"email": "x@example.org"}).status_code == 403
    assert client.post(f"/o/acme/members/{sam.pk}/remove/").status_code == 403


def test_there_is_no_add_by_username_any_more(personas):
    UserFactory(username="newbie")
    response = personas.client(personas.admin).post(
        "/o/acme/members/", {"username": "newbie", "role": "supervisor", "all_sites": "on"}
    )
    assert response.status_code == 200
    with tenancy.scope(personas.org):
        assert not Membership.objects.filter(user__username="newbie").exists()


def test_members_page_queries_do_not_grow_with_rows(personas, mailoutbox):
    client = personas.client(personas.admin)

    def add_rows(n):
        invite(personas, email=f"p{n}@example.org", sites=[personas.north, personas.south])
        services.membership_set(
            user=UserFactory(username=f"member{n}"),
            organization=personas.org,
            role=Role.SUPERVISOR,
            sites=[personas.north],
        )

    add_rows(0)
    with CaptureQueriesContext(connection) as few:
        client.get("/o/acme/members/")
    for n in range(1, 6):
        add_rows(n)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/o/acme/members/")
    assert response.content.decode().count("Revoke</button>") == 6
    assert len(many) == len(few) == MEMBERS_PAGE_QUERIES, [q["sql"] for q in many]
