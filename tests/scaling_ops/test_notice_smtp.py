"""The daily digest over real SMTP: a local aiosmtpd server on 127.0.0.1 receives it with a
plain-text and an HTML part, addressed to the supervisor and to nobody else."""

import email
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from pathways.services.exceptions import exception_report_compute
from scaling_ops import notifications, tenancy
from scaling_ops.models import Notice
from tests.pathways.exception_helpers import DAY, build_version, overdue_case
from tests.scaling_ops.notice_helpers import set_emails

# 08:00 in London the day after the report's day: the digest is due (default hour 07:00).
MORNING = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=8)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "Acme notices <notices@acme.example>"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def exceptions_at_both_sites(personas):
    set_emails(personas)
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "SECRET-N1")
        overdue_case(version, personas.south, "SECRET-S1")
        exception_report_compute(organization=personas.org, date=DAY)


def test_the_digest_arrives_over_smtp_with_both_parts(
    personas, exceptions_at_both_sites, smtp_server
):
    with tenancy.scope(personas.org):
        notifications.notices_generate(organization=personas.org, now=MORNING)
        counts = notifications.notices_email(organization=personas.org, now=MORNING)
    assert counts["retry"] == counts["failed"] == 0
    by_recipient = {tuple(to): content for to, content in smtp_server.messages}
    # Sam supervises North; the lead and the org admin see both sites; the commissioner and
    # the outsider get none.
    assert set(by_recipient) == {
        ("sam@example.org",),
        ("lena@example.org",),
        ("alice@example.org",),
    }
    message = email.message_from_bytes(by_recipient[("sam@example.org",)])
    assert message["From"] == "Acme notices <notices@acme.example>"
    assert message["Subject"].startswith("[Acme Community Services] Your daily digest for")
    parts = {part.get_content_type(): part for part in message.walk()}
    assert {"text/plain", "text/html"} <= set(parts)
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    for body in (text, html):
        assert "Exceptions at North" in body
        assert "South" not in body
        assert "SECRET" not in body  # counts and steps, never a case ref
    lead = email.message_from_bytes(by_recipient[("lena@example.org",)])
    assert "Exceptions at South" in lead.get_payload(0).get_payload(decode=True).decode()
    with tenancy.scope(personas.org):
        assert set(Notice.objects.values_list("email", flat=True)) == {Notice.Email.SENT}


def test_a_digest_waits_for_the_chosen_hour(personas, exceptions_at_both_sites, smtp_server):
    with tenancy.scope(personas.org):
        notifications.notice_preference_set(user=personas.supervisor, email_off=[], digest_hour=10)
        made = notifications.notices_generate(organization=personas.org, now=MORNING)
        assert personas.supervisor.pk not in {n.user_id for n in made}
        later = notifications.notices_generate(
            organization=personas.org, now=MORNING + timedelta(hours=2)
        )
        assert [n.kind for n in later if n.user_id == personas.supervisor.pk] == ["daily_digest"]
        # Once a day, however often the beat ticks.
        assert (
            notifications.notices_generate(
                organization=personas.org, now=MORNING + timedelta(hours=5)
            )
            == []
        )
