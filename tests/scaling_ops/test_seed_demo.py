from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import Client

from pathways.models import Case, ExceptionReport
from scaling_ops import demo, tenancy
from scaling_ops.models import Organization, Site


@pytest.fixture
def short_demo(module_short_demo, db) -> str:
    # Seeded once for the module; each test's writes are undone after it.
    return module_short_demo


def test_seed_demo_builds_sites_in_every_lifecycle_state(short_demo):
    organization = Organization.objects.get(slug=demo.DEMO_SLUG)
    with tenancy.scope(organization):
        assert set(Site.objects.values_list("status", flat=True)) == set(Site.Status.values)
        assert Case.objects.count() > 50
        assert ExceptionReport.objects.count() == 13


def test_seed_demo_prints_a_login_per_role(short_demo):
    for username, role, _, _ in demo.DEMO_USERS:
        assert f"{role.label:<22} {username}" in short_demo


@pytest.mark.parametrize("username", [user[0] for user in demo.DEMO_USERS])
def test_each_printed_login_lands_on_its_home(short_demo, username):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": username, "password": demo.DEMO_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/o/demo/"
    assert response.status_code == 200


def test_seed_demo_shows_its_steps_and_a_progress_bar_over_the_daily_reports(short_demo):
    assert "- [2/" in short_demo
    # Not a terminal: one line per tenth of the way (13 reports: at most 11 lines, no
    # carriage returns), from 0 to every report, then the time it took.
    bars = [line for line in short_demo.splitlines() if "daily reports [" in line]
    assert bars[0] == "  daily reports [" + "." * 30 + "]  0/13"
    assert bars[-1] == "  daily reports [" + "#" * 30 + "] 13/13"
    assert len(bars) <= 11
    assert "\r" not in short_demo
    assert "Seeded in " in short_demo


def test_on_postgresql_the_seeded_tables_are_analyzed_for_the_first_visitors(short_demo):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's; SQLite keeps none to go stale")
    assert "- Planner statistics (ANALYZE)" in short_demo
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'pathways_case'")
        (planned_cases,) = cursor.fetchone()
    assert planned_cases == Case.dangerously_unscoped.count()


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_bar_is_redrawn_in_place(db, monkeypatch):
    """Every step redraws the one line (carriage returns), then the line ends."""
    from scaling_ops.management.commands import seed_demo

    out = Terminal()
    command = seed_demo.Command(stdout=out)
    shown = []

    def build_core(say, time_zone, progress):
        for done in range(4):
            progress("daily reports", done, 3)
        shown.append(out.getvalue())
        raise SystemExit

    monkeypatch.setattr(seed_demo.demo, "build_core", build_core)
    with pytest.raises(SystemExit):
        command.handle(time_zone="UTC")
    assert shown[0].count("\r  daily reports [") == 4
    assert shown[0].endswith("\r  daily reports [" + "#" * 30 + "] 3/3\n")


def test_seed_demo_can_run_twice(short_demo):
    call_command("seed_demo", stdout=StringIO())
    assert Organization.objects.filter(slug=demo.DEMO_SLUG).count() == 1


def test_the_demo_commissioner_reads_only_the_learning_records_published_to_them(short_demo):
    client = Client()
    client.post("/accounts/login/", {"username": "commissioner", "password": demo.DEMO_PASSWORD})
    body = client.get("/o/demo/learning/actions/").content.decode()
    assert "Agree the response time clause for escalations with the commissioner" in body
    assert "Interpreter booking at first contact in East" not in body
    assert "(not published to commissioners)" in body


def test_the_demo_supervisor_works_the_older_exceptions_in_a_few_queries(
    short_demo, django_capture_on_commit_callbacks
):
    """The older exceptions are resolved, accepted (each becoming a deviation) and assigned by
    the queue's bulk actions: the same number of queries however many items there are."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from learning.models import Deviation
    from pathways.demo import _triage_older_items
    from pathways.models import ExceptionItem

    organization = Organization.objects.get(slug=demo.DEMO_SLUG)
    users = {user[0]: get_user_model().objects.get(username=user[0]) for user in demo.DEMO_USERS}
    context = demo.DemoContext(
        organization=organization, sites={}, users=users, say=lambda message: None
    )
    today = timezone.localdate(timezone=organization.zone)
    with tenancy.scope(organization):
        # Every item at the supervisor's sites open again and old enough to be worked: the most
        # the round can take on (East's are for East's supervisor).
        east = ExceptionItem.objects.filter(site__code="east").update(
            status=ExceptionItem.Status.RESOLVED
        )
        ExceptionItem.objects.exclude(site__code="east").update(
            status=ExceptionItem.Status.OPEN, first_reported_on=today - timedelta(days=30)
        )
        Deviation.objects.filter(exception_id__isnull=False).delete()
        items = ExceptionItem.objects.exclude(site__code="east").count()
        assert items > 20
        with (
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as queries,
        ):
            _triage_older_items(context, today)
        # Three bulk actions (an update, the history and the stored summaries each) and the
        # authority guard's reads per site and pathway of the accepted items: 52 here.
        assert len(queries) <= 52
        statuses = dict(
            ExceptionItem.objects.values_list("status").annotate(count=Count("id")).order_by()
        )
        accepted = ExceptionItem.objects.filter(status=ExceptionItem.Status.ACCEPTED)
    # Every third resolved; of the rest, one in seven accepted, one in five assigned.
    assert statuses[ExceptionItem.Status.RESOLVED] == len(range(0, items, 3)) + east
    assert statuses[ExceptionItem.Status.ACCEPTED] > 0
    assert statuses[ExceptionItem.Status.ASSIGNED] > 0
    with tenancy.scope(organization):
        assert set(
            Deviation.objects.filter(exception_id__isnull=False).values_list(
                "exception_id", flat=True
            )
        ) == set(accepted.values_list("pk", flat=True))
