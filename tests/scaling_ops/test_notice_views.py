"""The inbox as people use it: the unread count in the header, opening a notice marks it read
and goes to the thing, only one's own notices, preferences saved, the list's queries pinned."""

import pytest
from django.utils import timezone

from scaling_ops import tenancy
from scaling_ops.models import Notice


def notice(user, org, n, site=None, url="/o/acme/learning/actions/1/", **fields):
    with tenancy.scope(org):
        return Notice.objects.create(
            user=user, kind="improvement_action_due", key=f"test:{n}", site=site,
            title=f"Notice {n}", sections=[{"heading": f"Notice {n}", "lines": ["A line"], "url": url}],
            url=url, template="learning/notices/improvement_action_due", **fields,
        )  # fmt: skip


@pytest.fixture
def sams(personas):
    return [notice(personas.supervisor, personas.org, n, site=personas.north) for n in range(3)]


def test_the_header_fetches_the_unread_count(personas, sams):
    client = personas.client(personas.supervisor)
    page = client.get("/o/acme/").content.decode()
    assert 'hx-get="/o/acme/notices/unread/"' in page
    badge = client.get("/o/acme/notices/unread/").content.decode()
    assert 'aria-label="3 unread"' in badge


def test_opening_a_notice_marks_it_read_and_goes_to_the_thing(personas, sams):
    client = personas.client(personas.supervisor)
    response = client.get(f"/o/acme/notices/{sams[0].pk}/")
    assert response.status_code == 302 and response["Location"] == "/o/acme/learning/actions/1/"
    assert 'aria-label="2 unread"' in client.get("/o/acme/notices/unread/").content.decode()
    inbox = client.get("/o/acme/notices/?show=unread").content.decode()
    assert "Notice 0" not in inbox and "Notice 1" in inbox


def test_a_notice_of_someone_else_is_not_found(personas, sams):
    client = personas.client(personas.lead)
    assert client.get(f"/o/acme/notices/{sams[0].pk}/").status_code == 404
    assert client.get(f"/o/acme/notices/{sams[0].pk}/show/").status_code == 404
    client.post("/o/acme/notices/read/", {"notice": [sams[0].pk]})
    with tenancy.scope(personas.org):
        assert Notice.objects.get(pk=sams[0].pk).read_at is None


def test_a_link_off_the_site_is_not_followed(personas):
    evil = notice(personas.supervisor, personas.org, 9, url="https://evil.example/")
    client = personas.client(personas.supervisor)
    response = client.get(f"/o/acme/notices/{evil.pk}/")
    assert response["Location"] == f"/o/acme/notices/{evil.pk}/show/"


def test_mark_all_read(personas, sams):
    client = personas.client(personas.supervisor)
    response = client.post("/o/acme/notices/read/", follow=True)
    assert "3 notices marked read." in response.content.decode()
    assert "unread" not in client.get("/o/acme/notices/unread/").content.decode()


def test_a_commissioner_reads_by_opening_and_cannot_post(personas):
    own = notice(personas.commissioner, personas.org, 1, site=personas.north)
    client = personas.client(personas.commissioner)
    inbox = client.get("/o/acme/notices/").content.decode()
    assert "Notice 1" in inbox and "Mark all read" not in inbox
    assert client.post("/o/acme/notices/read/").status_code == 403
    assert client.get(f"/o/acme/notices/{own.pk}/").status_code == 302
    with tenancy.scope(personas.org):
        assert Notice.objects.get(pk=own.pk).read_at is not None


def test_preferences_are_saved_and_bad_input_re_renders(personas):
    client = personas.client(personas.supervisor)
    page = client.get("/o/acme/notices/preferences/").content.decode()
    assert "Improvement action due within 3 days" in page and "Daily digest" in page
    bad = client.post("/o/acme/notices/preferences/", {"digest_hour": "25"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    client.post(
        "/o/acme/notices/preferences/",
        {"email_off": ["daily_digest", "training_expiring"], "digest_hour": "6"},
    )
    from scaling_ops.notifications import notice_preference_for

    with tenancy.scope(personas.org):
        preference = notice_preference_for(user=personas.supervisor)
    assert preference.email_off == ["daily_digest", "training_expiring"]
    assert preference.digest_hour == 6
    assert preference.history.count() == 1


def test_the_inbox_queries_do_not_grow_with_notices(personas, django_assert_num_queries):
    client = personas.client(personas.supervisor)
    client.get("/o/acme/notices/")  # warm the session and the unread count
    for n in range(2):
        notice(personas.supervisor, personas.org, n, site=personas.north)
    with django_assert_num_queries(5) as few:
        client.get("/o/acme/notices/")
    for n in range(2, 20):
        notice(personas.supervisor, personas.org, n, site=personas.south, read_at=timezone.now())
    with django_assert_num_queries(len(few.captured_queries)):
        client.get("/o/acme/notices/")


# --- a commissioner's preferences: set by an org admin, read by them -------------------------


def member_pk(personas, user):
    from scaling_ops.models import Membership

    with tenancy.scope(personas.org):
        return Membership.objects.get(user=user).pk


def test_a_commissioner_reads_their_preferences_and_still_posts_nothing(personas):
    client = personas.client(personas.commissioner)
    refused = client.post("/o/acme/notices/preferences/", {"digest_hour": "6"})
    assert refused.status_code == 403
    page = client.get("/o/acme/notices/preferences/")
    text = page.content.decode()
    assert page.status_code == 200 and "<form" not in text.split("</header>")[-1]
    # No digest reaches a commissioner, so no digest hour is shown.
    assert "Daily digest made from" not in text
    admin_name = personas.admin.get_full_name() or personas.admin.get_username()
    assert "ask an org admin" in text and admin_name in text
    from scaling_ops.notifications import notice_preference_for

    with tenancy.scope(personas.org):
        assert notice_preference_for(user=personas.commissioner).pk is None


def test_an_org_admin_sets_a_members_preferences_with_history(personas):
    from scaling_ops.notifications import notice_preference_for

    url = f"/o/acme/members/{member_pk(personas, personas.commissioner)}/notices/"
    admin = personas.client(personas.admin)
    assert "Commissioners write nothing" in admin.get(url).content.decode()
    # No digest reaches a commissioner: the hour is not offered, and one posted is ignored.
    saved = admin.post(url, {"email_off": ["reaudit_window_opening"], "digest_hour": "6"})
    assert saved.status_code == 302
    with tenancy.scope(personas.org):
        preference = notice_preference_for(user=personas.commissioner)
        [row] = preference.history.all()
    assert preference.email_off == ["reaudit_window_opening"] and preference.digest_hour == 7
    assert row.history_user_id == personas.admin.pk
    assert row.history_change_reason == "Set by an org admin"
    page = admin.get(url).content.decode()
    assert "Set by an org admin" in page and "alice" in page
    # The commissioner sees what the admin set, read-only.
    own = personas.client(personas.commissioner).get("/o/acme/notices/preferences/")
    text = own.content.decode()
    assert "Not emailed:</strong> Re-audit window opening" in text


def test_preferences_list_only_the_kinds_a_members_role_receives(personas):
    """A commissioner is told of joint improvement processes and re-audit windows, never of
    training, coaching, improvement actions or the daily digest; a supervisor not of contracts."""
    commissioner = personas.client(personas.commissioner).get("/o/acme/notices/preferences/")
    text = commissioner.content.decode()
    assert "Re-audit window opening" in text and "Joint improvement process overdue" in text
    for label in (
        "Training expiring",
        "Coaching session due",
        "Improvement action",
        "Daily digest:",
    ):
        assert label not in text, label
    supervisor = personas.client(personas.supervisor).get("/o/acme/notices/preferences/")
    offered = dict(supervisor.context["form"].fields["email_off"].choices)
    assert "daily_digest" in offered and "training_expiring" in offered
    assert "coaching_due" not in offered and "corrective_process_due" not in offered
    # The admin's page for a member offers that member's kinds, and an org admin their own
    # and every lead's.
    url = f"/o/acme/members/{member_pk(personas, personas.commissioner)}/notices/"
    for_commissioner = personas.client(personas.admin).get(url).context["form"]
    assert set(dict(for_commissioner.fields["email_off"].choices)) == {
        "corrective_process_due",
        "corrective_process_overdue",
        "reaudit_window_opening",
    }
    admin_own = personas.client(personas.admin).get("/o/acme/notices/preferences/")
    assert "coaching_due" in dict(admin_own.context["form"].fields["email_off"].choices)


def test_bad_preferences_from_the_admin_name_the_field_and_store_nothing(personas):
    from scaling_ops.models import NoticePreference

    url = f"/o/acme/members/{member_pk(personas, personas.supervisor)}/notices/"
    admin = personas.client(personas.admin)
    for data, field in (
        ({"digest_hour": "24"}, "digest_hour"),
        ({"digest_hour": "7", "email_off": ["nonsense"]}, "email_off"),
        ({}, "digest_hour"),
    ):
        response = admin.post(url, data)
        assert response.status_code == 400 and field in response.context["form"].errors
    with tenancy.scope(personas.org):
        assert not NoticePreference.objects.exists()


def test_members_notice_preferences_fail_closed(personas):
    pk = member_pk(personas, personas.commissioner)
    url = f"/o/acme/members/{pk}/notices/"
    data = {"digest_hour": "6"}
    outsider = personas.client(personas.outsider)
    assert outsider.get(url).status_code == 404 and outsider.post(url, data).status_code == 404
    for user in (personas.lead, personas.supervisor, personas.commissioner):
        client = personas.client(user)
        assert client.get(url).status_code == 403 and client.post(url, data).status_code == 403
    # Another organisation's member is not found from here, even by its admin.
    from scaling_ops.models import Membership

    with tenancy.scope(personas.other_org):
        other = Membership.objects.get(user=personas.outsider).pk
    admin = personas.client(personas.admin)
    assert admin.get(f"/o/acme/members/{other}/notices/").status_code == 404
