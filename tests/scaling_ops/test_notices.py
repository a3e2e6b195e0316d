"""Notices: reminders fire once at the right time, respect the tenant, the person's sites and
preferences, and never carry a case's details to a commissioner."""

import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone

from learning.services.actions import improvement_action_create
from scaling_ops import notifications, tenancy
from scaling_ops.models import Notice
from scaling_ops.tasks import send_due_notices
from tests.scaling_ops.notice_helpers import set_emails

# 09:00 in London on Tuesday 1 December 2026.
NINE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def actions(personas, tenant):
    set_emails(personas)
    north = improvement_action_create(
        title="Re-train North on intake", owner=personas.supervisor,
        deadline=TODAY + timedelta(days=3), site=personas.north, by=personas.lead,
    )  # fmt: skip
    south = improvement_action_create(
        title="Fix South rota", owner=personas.lead,
        deadline=TODAY + timedelta(days=3), site=personas.south, by=personas.lead,
    )  # fmt: skip
    return {"north": north, "south": south}


def generate(personas, now):
    with tenancy.scope(personas.org):
        return notifications.notices_generate(organization=personas.org, now=now)


def notices_of(user, org):
    with tenancy.scope(org):
        return list(Notice.objects.filter(user=user).order_by("kind", "key"))


def test_a_reminder_waits_for_its_window_and_fires_once(personas, actions):
    assert generate(personas, NINE - timedelta(days=1)) == []  # four days before: nothing
    first = generate(personas, NINE)
    sam = [n for n in first if n.user_id == personas.supervisor.pk]
    assert [n.kind for n in sam] == ["improvement_action_due"]
    assert sam[0].title == "Improvement action 1 due in 3 days"
    # The same tick again, and the next days before the deadline: nothing new.
    assert generate(personas, NINE) == []
    assert generate(personas, NINE + timedelta(days=2)) == []
    # Past the deadline: the overdue reminder, once.
    overdue = generate(personas, NINE + timedelta(days=4))
    assert {(n.user_id, n.kind) for n in overdue if n.user_id == personas.supervisor.pk} == {
        (personas.supervisor.pk, "improvement_action_overdue")
    }
    assert generate(personas, NINE + timedelta(days=5)) == []


def test_a_moved_deadline_reminds_again(personas, actions):
    generate(personas, NINE)
    action = actions["north"]
    with tenancy.scope(personas.org):
        action.deadline = TODAY + timedelta(days=2)
        action.save(update_fields=["deadline"])
    again = generate(personas, NINE)
    assert [n.kind for n in again if n.user_id == personas.supervisor.pk] == [
        "improvement_action_due"
    ]


def test_a_supervisor_of_north_gets_nothing_about_south(personas, actions):
    generate(personas, NINE)
    sam = notices_of(personas.supervisor, personas.org)
    assert [n.site_id for n in sam] == [personas.north.pk]
    assert all("South" not in n.title and "rota" not in str(n.sections) for n in sam)
    lena = notices_of(personas.lead, personas.org)  # the lead sees every site
    assert {n.site_id for n in lena} == {personas.north.pk, personas.south.pk}


def test_an_outsider_and_a_commissioner_get_nothing_of_it(personas, actions):
    generate(personas, NINE)
    with tenancy.scope(personas.other_org):
        notifications.notices_generate(organization=personas.other_org, now=NINE)
    assert notices_of(personas.outsider, personas.other_org) == []
    assert notices_of(personas.outsider, personas.org) == []
    # Improvement actions are free text people wrote: never for a commissioner.
    assert notices_of(personas.commissioner, personas.org) == []


def test_each_notice_is_emailed_once_with_both_parts(personas, actions):
    generate(personas, NINE)
    with tenancy.scope(personas.org):
        counts = notifications.notices_email(organization=personas.org, now=NINE)
        again = notifications.notices_email(organization=personas.org, now=NINE)
    assert counts["sent"] == len(mail.outbox) >= 2
    assert again["sent"] == 0
    to_sam = [m for m in mail.outbox if m.to == ["sam@example.org"]]
    assert len(to_sam) == 1
    message = to_sam[0]
    assert message.subject == "[Acme Community Services] Improvement action 1 due in 3 days"
    assert "Re-train North on intake" in message.body
    assert "/o/acme/learning/actions/1/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Re-train North on intake" in html
    assert "South" not in message.body


def test_a_kind_turned_off_reaches_the_inbox_but_not_the_mailbox(personas, actions):
    with tenancy.scope(personas.org):
        notifications.notice_preference_set(
            user=personas.supervisor, email_off=["improvement_action_due"], digest_hour=7
        )
    generate(personas, NINE)
    with tenancy.scope(personas.org):
        notifications.notices_email(organization=personas.org, now=NINE)
    sam = notices_of(personas.supervisor, personas.org)
    assert [(n.kind, n.email) for n in sam] == [("improvement_action_due", Notice.Email.OFF)]
    assert [m for m in mail.outbox if m.to == ["sam@example.org"]] == []
    assert [m for m in mail.outbox if m.to == ["lena@example.org"]] != []


def test_an_unknown_kind_or_hour_is_refused(personas, tenant):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        notifications.notice_preference_set(
            user=personas.supervisor, email_off=["nonsense"], digest_hour=7
        )
    assert "email_off" in error.value.message_dict
    with pytest.raises(ValidationError):
        notifications.notice_preference_set(user=personas.supervisor, email_off=[], digest_hour=24)


def test_mail_server_down_is_a_logged_retry_not_a_lost_notice(personas, actions, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    generate(personas, NINE)
    with tenancy.scope(personas.org), caplog.at_level(logging.WARNING):
        counts = notifications.notices_email(organization=personas.org, now=NINE)
    assert counts["sent"] == 0 and counts["retry"] >= 2
    assert "the next run retries" in caplog.text
    with tenancy.scope(personas.org):
        pending = list(Notice.objects.filter(email=Notice.Email.PENDING))
    assert pending and all(n.email_attempts == 1 and n.email_error for n in pending)
    # The server is back: the next run sends them.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with tenancy.scope(personas.org):
        counts = notifications.notices_email(organization=personas.org, now=NINE)
    assert counts["sent"] == len(pending) == len(mail.outbox)


def test_the_beat_task_reruns_send_nothing_twice(personas, tenant):
    set_emails(personas)
    today = timezone.localdate(timezone.now(), personas.org.zone)
    improvement_action_create(
        title="Due soon", owner=personas.supervisor, deadline=today + timedelta(days=1),
        site=personas.north, by=personas.lead,
    )  # fmt: skip
    with tenancy.isolated():
        queued = send_due_notices()
        assert any(line.startswith("acme ") for line in queued)
        assert send_due_notices() == []  # the same tick: queued once
        cache.clear()  # a lost mark (a Redis restart): the service itself keeps them once
        send_due_notices()
    sam = notices_of(personas.supervisor, personas.org)
    assert [n.kind for n in sam] == ["improvement_action_due"]
    assert len([m for m in mail.outbox if m.to == ["sam@example.org"]]) == 1


def test_the_beat_task_respects_what_an_admin_set_for_a_commissioner(personas, tenant):
    """A commissioner cannot save preferences; the org admin sets them, and the beat task's
    email follows them (the notice still reaches the inbox)."""
    from scaling_ops.extension_points import notice_sources
    from scaling_ops.models import Role

    set_emails(personas)

    def contract_news(*, organization, today, now):
        return [
            notifications.NoticeDraft(
                kind="reaudit_window_opening", key=f"test_window:{today.isoformat()}",
                title="Re-audit window at North opens today", lines=["No case details."],
                url="/o/acme/assurance/", template="assurance/notices/reaudit_window_opening",
                site_id=personas.north.pk, roles=(Role.COMMISSIONER, Role.IMPLEMENTATION_LEAD),
            )
        ]  # fmt: skip

    source = notifications.NoticeSource(
        name="test",
        kinds=(
            notifications.NoticeKind(
                "reaudit_window_opening",
                "Re-audit window opening",
                roles=(Role.COMMISSIONER, Role.IMPLEMENTATION_LEAD),
            ),
        ),
        collect=contract_news,
    )
    with notice_sources.overridden(source):
        admin = personas.client(personas.admin)
        from scaling_ops.models import Membership

        with tenancy.scope(personas.org):
            pk = Membership.objects.get(user=personas.commissioner).pk
        saved = admin.post(
            f"/o/acme/members/{pk}/notices/",
            {"email_off": ["reaudit_window_opening"], "digest_hour": "7"},
        )
        assert saved.status_code == 302
        with tenancy.isolated():
            send_due_notices()
    [cora] = notices_of(personas.commissioner, personas.org)
    assert cora.kind == "reaudit_window_opening" and cora.email == Notice.Email.OFF
    assert [m for m in mail.outbox if m.to == ["cora@example.org"]] == []
    assert len([m for m in mail.outbox if m.to == ["lena@example.org"]]) == 1
