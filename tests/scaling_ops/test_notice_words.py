"""Every email kind reads in words: each notice the seeded demo makes, rendered as the email it
becomes, has no internal key (step or rule keys, ``=True``, ids) in its subject, text or HTML
part (the per-role walk's regex, scaling_ops/browser_walk.py)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from scaling_ops import browser_walk, demo, notifications, tenancy
from scaling_ops.models import Notice, Organization

TAGS = re.compile(r"<[^>]+>")
# An id a person cannot use: "#123", "id 42", "pk=7".
IDS = re.compile(r"#\d+\b|\bid[ =:]\s*\d+|\bpk\b")


def html_text(html: str) -> str:
    """The words the HTML part shows (URLs in attributes are links, not text)."""
    body = re.sub(r"<(style|head)[^>]*>.*?</\1>", "", html, flags=re.S)
    return TAGS.sub(" ", body)


def _keys(text: str) -> list[str]:
    return browser_walk.keys_in(text) + IDS.findall(text)


@pytest.fixture
def demo_notices(module_short_demo, db) -> tuple[Organization, list[Notice]]:
    from assurance.contracts.models import CorrectiveProcess
    from learning.models import ImprovementAction
    from workforce.models import TrainingCompletion

    org = Organization.objects.get(slug=demo.DEMO_SLUG)
    with tenancy.scope(org):
        # Kinds the demo's own dates do not reach: one of each brought near its day (a process
        # and an action due in two days, a training expiring), then ten days of the demo's
        # life, in which the process also passes its deadline and coaching falls due.
        today = timezone.localdate(timezone=org.zone)
        process = CorrectiveProcess.objects.order_by("pk").first()
        process.status = CorrectiveProcess.Status.OPEN
        process.deadline = today + timedelta(days=2)
        process.save(update_fields=["status", "deadline"])
        action = (
            ImprovementAction.objects.filter(status__in=ImprovementAction.OPEN_STATUSES)
            .order_by("-deadline")
            .first()
        )
        action.deadline = today + timedelta(days=2)
        action.save(update_fields=["deadline"])
        completion = TrainingCompletion.objects.order_by("-completed_on").first()
        completion.expires_on = today + timedelta(days=20)
        completion.save(update_fields=["expires_on"])
        now = timezone.now()
        for day in range(11):
            notifications.notices_generate(organization=org, now=now + timedelta(days=day))
        notices = list(Notice.objects.select_related("user").order_by("kind", "pk"))
    return org, notices


def test_every_email_kind_is_made_and_reads_in_words(demo_notices):
    org, notices = demo_notices
    made = {notice.kind for notice in notices}
    assert {kind.code for kind in notifications.notice_kinds()} - made == set()
    problems = []
    with tenancy.scope(org):
        for notice in notices:
            message = notifications.notice_email_message(notice=notice, organization=org)
            html = message.alternatives[0][0]
            for part, text in (
                ("subject", message.subject),
                ("text", message.body),
                ("html", html_text(html)),
            ):
                found = _keys(text)
                if found:
                    problems.append(f"{notice.kind} {part}: {found[:6]}")
    print("kinds rendered:", sorted(made))
    assert not problems, "\n".join(sorted(set(problems)))
