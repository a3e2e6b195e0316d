"""Retention of daily report lines (issue 20): a report's lines older than the window
(``settings.EXCEPTION_REPORT_RETENTION_DAYS``, default 400 days) are rolled up into the
report's stored summary (lines by site, step, kind and status, with the count of items still
needing action per site) and then dropped, so the lines table stays bounded however long an
organisation runs. The report row itself stays with its figures (date, counts, when computed)
and ``lines_dropped_at``; the queue and the partner API no longer offer it
(``selectors.exception_report_get``), and nothing else reads report lines (the monthly snapshot
reads cases and events). Exception items keep their triage history."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pathways.models import ExceptionReport, ExceptionReportLine
from pathways.selectors.exceptions import exception_report_summary_rows
from scaling_ops import tenancy
from scaling_ops.models import Organization


@dataclass(frozen=True)
class Expired:
    reports: int
    lines: int


def exception_report_retention_cutoff(*, organization: Organization, now: datetime) -> date:
    """Reports dated before this organisation-local day have their lines dropped."""
    days = settings.EXCEPTION_REPORT_RETENTION_DAYS
    return timezone.localdate(now, organization.zone) - timedelta(days=days)


def exception_report_lines_expire(*, organization: Organization, now: datetime) -> Expired:
    """Rolls up and drops the lines of ``organization``'s reports older than the window; one
    report per transaction. Idempotent."""
    tenancy.refuse_another_organization(
        organization.pk, doing=f"expire organisation {organization.pk}'s report lines"
    )
    cutoff = exception_report_retention_cutoff(organization=organization, now=now)
    reports = lines = 0
    with tenancy.scope(organization):
        expiring = list(
            ExceptionReport.objects.filter(date__lt=cutoff, lines_dropped_at__isnull=True)
            .order_by("date")
            .values_list("pk", "summary")
        )
        for report_id, summary in expiring:
            with transaction.atomic():
                if summary is None:
                    summary = exception_report_summary_rows(report_id=report_id)
                deleted, _ = ExceptionReportLine.objects.filter(report_id=report_id).delete()
                lines += deleted
                ExceptionReport.objects.filter(pk=report_id).update(
                    summary=summary, lines_dropped_at=now
                )
            reports += 1
    return Expired(reports=reports, lines=lines)
