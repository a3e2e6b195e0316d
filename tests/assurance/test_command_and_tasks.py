"""``manage.py compute_assurance`` and the Celery tasks: the same service, progress shown,
errors that say what to do."""

import io
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from assurance.models import AssuranceSnapshot
from assurance.tasks import compute_assurance_snapshot, compute_due_assurance_snapshots
from scaling_ops import tenancy
from tests.assurance.helpers import build_month


@pytest.fixture
def month(personas, tenant):
    return build_month(personas)


def test_the_command_computes_the_month_and_reports_each_site(personas, month):
    out, err = io.StringIO(), io.StringIO()
    with tenancy.isolated():
        call_command("compute_assurance", org="acme", month="2026-03", stdout=out, stderr=err)
    text = out.getvalue()
    assert "acme 2026-03 north: revision 1, 3 cases" in text
    assert "acme 2026-03 south: revision 1, 1 cases" in text
    assert "2 site snapshots" in text
    assert "case" in err.getvalue()  # the progress bar
    assert AssuranceSnapshot.objects.filter(month=date(2026, 3, 1)).count() == 2


def test_the_command_again_makes_revision_two(personas, month):
    with tenancy.isolated():
        call_command(
            "compute_assurance", org="acme", month="2026-03", no_progress=True, stdout=io.StringIO()
        )
        out = io.StringIO()
        call_command("compute_assurance", org="acme", month="2026-03", no_progress=True, stdout=out)
    assert "north: revision 2" in out.getvalue()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"org": "nope", "month": "2026-03"}, "No organisation with slug 'nope'"),
        ({"org": "acme", "month": "March"}, "use YYYY-MM"),
        ({"org": "acme", "month": "2099-01"}, "has not started yet"),
    ],
)
def test_the_command_explains_what_was_wrong(personas, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("compute_assurance", no_progress=True, stdout=io.StringIO(), **options)


def test_the_task_computes_inside_the_organisations_scope(personas, month):
    with tenancy.isolated():
        result = compute_assurance_snapshot.delay(
            organization_id=personas.org.pk, month="2026-03", user_id=personas.lead.pk, reason="t"
        ).get()
    assert result["month"] == "2026-03"
    snapshot = AssuranceSnapshot.objects.get(pk=result["snapshots"][0])
    assert (snapshot.computed_by, snapshot.reason) == (personas.lead, "t")


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_beat_task_queues_last_month_once_per_organisation(
    personas, django_capture_on_commit_callbacks, monkeypatch
):
    # As with a broker: each send waits for the commit, so the callbacks count what was queued.
    monkeypatch.setattr(compute_assurance_snapshot.app.conf, "task_always_eager", False)
    with tenancy.isolated(), django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = compute_due_assurance_snapshots()
        again = compute_due_assurance_snapshots()
    assert sorted(entry.split()[0] for entry in queued) == ["acme", "globex"]
    assert again == []
    assert len(callbacks) == 2
