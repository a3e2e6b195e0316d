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
