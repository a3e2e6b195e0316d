"""The seeded demo in words, by the per-role walk's regex (scaling_ops/browser_walk.py): every CSV
export of every role (no header and no cell holds an internal key), and every email kind (each
notice rendered as the email it becomes: no key or id in its subject, text or HTML part). One
module, so the demo is seeded once for both."""

import ast
import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from scaling_ops import browser_walk, demo, notifications, tenancy
from scaling_ops.models import Membership, Notice, Organization

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("admin", "lead", "supervisor", "commissioner")

# Every view (or helper) that answers csv_response, with the export(s) it answers as
# (name, path under /o/demo/ with {contract}, {snapshot}, {site} filled from the demo).
EXPORTS = {
    "pathways/views/versions.py:_csv": [("pathway versions", "pathways/?format=csv")],
    "pathways/views/adaptations.py:_csv": [("site adaptations", "adaptations/?format=csv")],
    "pathways/views/adaptations.py:_summary": [
        ("adaptation counts", "adaptations/?view=summary&format=csv")
    ],
    "pathways/views/exceptions.py:_csv": [("exception queue", "exceptions/?format=csv")],
    "pathways/views/escalations.py:_rate_csv": [
        ("escalation rate", "exceptions/escalations/?format=csv")
    ],
    "assurance/views/stability.py:stability_page": [
        ("stability", "assurance/stability/?format=csv")
    ],
    "assurance/views/stability.py:workforce_evidence_page": [
        ("workforce evidence", "assurance/workforce/?format=csv")
    ],
    "assurance/views/records.py:audit_list": [("audit samples", "assurance/audits/?format=csv")],
    "assurance/views/records.py:incident_list": [("incidents", "assurance/incidents/?format=csv")],
    "assurance/views/referrals.py:referral_sources": [
        ("referral sources", "assurance/referral-sources/?format=csv&month={month}")
    ],
    "assurance/views/config.py:metric_list": [("metrics", "assurance/metrics/?format=csv")],
    "assurance/views/config.py:baseline_list": [("baselines", "assurance/baselines/?format=csv")],
    "assurance/views/dashboards.py:equity": [
        ("equity", "assurance/equity/?format=csv&month={month}")
    ],
    "assurance/views/dashboards.py:drift_list": [("drift", "assurance/drift/?format=csv")],
    "assurance/views/snapshots.py:snapshot_list": [
        ("snapshots", "assurance/snapshots/?format=csv")
    ],
    "assurance/views/snapshots.py:snapshot_detail": [
        ("one snapshot", "assurance/snapshots/{snapshot}/?format=csv")
    ],
    "assurance/views/snapshots.py:export_month": [
        ("assurance month", "assurance/export/?month={month}")
    ],
    "assurance/contracts/views.py:contract_list": [("contracts", "contracts/?format=csv")],
    "assurance/contracts/views.py:contract_export": [
        ("contract terms", "contracts/{contract}/export/?what=terms"),
        ("contract statement", "contracts/{contract}/export/?what=statement&month={month}"),
        ("corrective processes", "contracts/{contract}/export/?what=processes"),
    ],
    "workforce/views/pages.py:workforce_site": [
        ("site staff", "workforce/sites/{site}/?format=csv")
    ],
    "workforce/views/supervision.py:assignments": [
        ("case assignments", "workforce/assignments/?format=csv")
    ],
    "workforce/views/caseload.py:caseload": [("caseload", "workforce/caseload/?format=csv")],
    "learning/views/actions.py:action_list": [
        ("improvement actions", "learning/actions/?format=csv")
    ],
    "learning/views/reviews.py:review_list": [("reviews", "learning/reviews/?format=csv")],
    "learning/views/proposals.py:proposal_list": [
        ("change proposals", "learning/proposals/?format=csv")
    ],
    "learning/views/deviations.py:deviation_list": [
        ("deviations", "learning/deviations/?format=csv")
    ],
    "learning/views/deviations.py:pattern_list": [
        ("deviation patterns", "learning/patterns/?format=csv")
    ],
}


def csv_answering_functions() -> set[str]:
    found = set()
    for app in ("scaling_ops", "pathways", "assurance", "workforce", "learning"):
        for path in (ROOT / app).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef) or function.name == "csv_response":
                    continue
                for node in ast.walk(function):
                    if (
                        isinstance(node, ast.Call)
                        and getattr(node.func, "id", "") == "csv_response"
                    ):
                        found.add(f"{path.relative_to(ROOT).as_posix()}:{function.name}")
    return found


def test_every_csv_export_is_in_the_words_test():
    assert csv_answering_functions() == set(EXPORTS)


@pytest.fixture
def demo_org(module_short_demo, db) -> Organization:
    return Organization.objects.get(slug=demo.DEMO_SLUG)


def _fill(demo_org) -> dict:
    from assurance.contracts.models import Contract
    from assurance.models import AssuranceSnapshot

    with tenancy.scope(demo_org):
        snapshot = AssuranceSnapshot.objects.order_by("-month", "site__code").first()
        return {
            "contract": Contract.objects.order_by("pk").first().pk,
            "snapshot": snapshot.pk,
            "site": snapshot.site.code,
            "month": f"{snapshot.month:%Y-%m}",
        }


@pytest.mark.parametrize("role", ROLES)
def test_every_csv_export_reads_in_words(demo_org, role):
    client = Client()
    client.force_login(get_user_model().objects.get(username=role))
    values = _fill(demo_org)
    problems, answered = [], []
    for exports in EXPORTS.values():
        for name, tail in exports:
            response = client.get(f"/o/{demo.DEMO_SLUG}/" + tail.format(**values))
            if response.status_code in (403, 404):
                continue  # not for this role
            if not response.get("Content-Type", "").startswith("text/csv"):
                problems.append(f"{name}: HTTP {response.status_code}, not a CSV")
                continue
            answered.append(name)
            rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
            header = browser_walk.keys_in(" ".join(rows[0]))
            if header:
                problems.append(f"{name}: header keys {header}")
            cells = browser_walk.keys_in("\n".join(" ".join(row) for row in rows[1:]))
            if cells:
                problems.append(f"{name}: cell keys {cells[:6]}")
    assert answered, f"{role} may download no CSV at all"
    assert not problems, "\n".join(problems)


# --- emails -------------------------------------------------------------------------------------

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


def test_every_notice_reaches_only_a_role_its_kind_declares(demo_notices):
    """The preferences pages list a member the kinds their role's ``NoticeKind.roles`` name:
    no notice may reach someone whose page does not offer its kind."""
    org, notices = demo_notices
    kinds = {kind.code: kind for kind in notifications.notice_kinds()}
    with tenancy.scope(org):
        roles = dict(Membership.objects.values_list("user_id", "role"))
    strays = {
        (notice.kind, roles[notice.user_id])
        for notice in notices
        if not kinds[notice.kind].reaches(roles[notice.user_id])
    }
    assert notices and strays == set()


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
