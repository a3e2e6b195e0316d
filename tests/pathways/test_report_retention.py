"""Daily report lines older than the retention window are rolled up into the report's summary
and dropped by the beat task; the queue and the partner API no longer offer such a report, and
a recompute writes its lines again."""

from datetime import datetime, timedelta

import pytest
from django.urls import reverse

from pathways.models import ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.services.exceptions import exception_report_compute
from pathways.services.report_retention import exception_report_lines_expire
from pathways.tasks import expire_report_lines_everywhere
from scaling_ops import tenancy
from tests.pathways.api_helpers import partner_client
from tests.pathways.exception_helpers import DAY, build_version, overdue_case


@pytest.fixture
def version(tenant):
    return build_version()


@pytest.fixture
def reports(personas, version):
    """Reports for DAY and the two days after, with two overdue intakes."""
    overdue_case(version, personas.north, "C-N1")
    overdue_case(version, personas.south, "C-S1")
    with tenancy.scope(personas.org):
        return [
            exception_report_compute(organization=personas.org, date=DAY + timedelta(days=n))
            for n in range(3)
        ]


def _now_keeping(days_kept: int, settings) -> datetime:
    """A "now" at which only the newest ``days_kept`` reports lie inside a 400-day window."""
    settings.EXCEPTION_REPORT_RETENTION_DAYS = 400
    newest = DAY + timedelta(days=2)
    return datetime(newest.year, newest.month, newest.day, 12) + timedelta(days=400 - days_kept + 1)


def test_lines_older_than_the_window_are_rolled_up_and_dropped(personas, reports, settings):
    now = _now_keeping(1, settings).astimezone()
    with tenancy.scope(personas.org):
        expired = exception_report_lines_expire(organization=personas.org, now=now)
        assert (expired.reports, expired.lines) == (2, 4)
        oldest = ExceptionReport.objects.get(pk=reports[0].pk)
        assert oldest.lines_dropped_at == now
        assert not ExceptionReportLine.objects.filter(report=oldest).exists()
        # The roll-up: counts by site, step, kind and status stay with the report.
        assert sorted(row[4] for row in oldest.summary["lines"]) == [1, 1]
        assert ExceptionReportLine.objects.filter(report=reports[2]).count() == 2
        assert ExceptionItem.objects.count() == 2  # items and their history stay
        # Idempotent.
        again = exception_report_lines_expire(organization=personas.org, now=now)
        assert (again.reports, again.lines) == (0, 0)


def test_the_queue_and_api_no_longer_offer_a_dropped_report(personas, reports, settings):
    with tenancy.scope(personas.org):
        exception_report_lines_expire(
            organization=personas.org, now=_now_keeping(1, settings).astimezone()
        )
    client = personas.client(personas.admin)
    queue = reverse("exception_queue", kwargs={"org": personas.org.slug})
    assert client.get(queue).context["report"].pk == reports[2].pk
    assert client.get(f"{queue}?date={DAY}").context["report"] is None
    key = partner_client(personas.org, [personas.north])
    assert key.get(f"/api/v1/exceptions/?date={DAY}").status_code == 404
    assert key.get(f"/api/v1/exceptions/?date={DAY + timedelta(days=2)}").status_code == 200


def test_triage_keeps_a_dropped_reports_roll_up(personas, reports, settings):
    from pathways.selectors.exceptions import exception_report_summary_rows
    from pathways.services.exception_triage import exception_item_resolve

    with tenancy.scope(personas.org):
        exception_report_lines_expire(
            organization=personas.org, now=_now_keeping(1, settings).astimezone()
        )
        item = ExceptionItem.objects.get(case__external_ref="C-N1")
        exception_item_resolve(item=item, by=personas.admin, note="Rebooked.")
        assert ExceptionReport.objects.get(pk=reports[0].pk).summary is not None
        # The kept report's summary is updated in place, as grouping its lines again gives.
        kept = ExceptionReport.objects.get(pk=reports[2].pk).summary
        fresh = exception_report_summary_rows(report_id=reports[2].pk)
        assert sorted(kept["lines"]) == sorted(fresh["lines"])
        assert kept["open_items"] == fresh["open_items"]


def test_a_recompute_writes_a_dropped_reports_lines_again(personas, reports, settings):
    with tenancy.scope(personas.org):
        exception_report_lines_expire(
            organization=personas.org, now=_now_keeping(1, settings).astimezone()
        )
        report = exception_report_compute(organization=personas.org, date=DAY)
        assert report.lines_dropped_at is None
        assert ExceptionReportLine.objects.filter(report=report).count() == 2


def test_the_beat_task_expires_every_organisation(personas, reports, settings):
    settings.EXCEPTION_REPORT_RETENTION_DAYS = 1
    assert personas.org.slug in expire_report_lines_everywhere()
    with tenancy.scope(personas.org):
        assert ExceptionReport.objects.filter(lines_dropped_at__isnull=False).count() == 3


def test_the_beat_schedule_runs_it_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["pathways-expire-report-lines"]
    assert entry["task"] == "pathways.tasks.expire_report_lines_everywhere"
    assert entry["schedule"] == 24 * 60 * 60
