"""Reads for the supervisor exception queue and the case detail page. Every read is narrowed to
the member's visible sites: a missing row and one outside them look the same (None -> 404).

Exception rows show their case by reference only, and never load its referral date: one stored
outside the plausible window before the API refused it may be a date Python cannot hold (BC)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from django.db.models import Count, F, Min, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from pathways import engine
from pathways.models import Case, CaseEvent, ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.plausible_time import latest_plausible, plausible
from pathways.selectors.obligations import (
    case_input,
    implausible_cases,
    implausible_events,
    plausible_referral,
)
from scaling_ops.dates import local_midnight
from scaling_ops.models import Membership
from scaling_ops.selectors import visible_sites

PAGE_SIZE = 50
NEEDS_ACTION = (ExceptionItem.Status.OPEN, ExceptionItem.Status.ASSIGNED)
# Age in days since the exception was due (since the assessment, for incomplete ones), counted
# in whole organisation-local days up to the report's date.
AGE_BUCKETS = {
    "0-1": ("Due today or yesterday", None, 1),
    "2-7": ("2–7 days", 2, 7),
    "8-30": ("8–30 days", 8, 30),
    "31+": ("Over 30 days", 31, None),
}
# Obligation statuses drawn with the stylesheet's badge colours of the matching exception kinds.
STATUS_BADGES = {"met": "met", "late": "late_step", "overdue": "overdue_step", "pending": "pending"}
# An event is marked late-arriving on the timeline when the partner sent it this long after.
LATE_ARRIVAL = timedelta(hours=12)


@dataclass(frozen=True)
class QueueFilters:
    site: str = ""
    kind: str = ""
    status: str = ""  # "" = needs action (open or assigned), "all", or one status
    step: str = ""
    assignee: str = ""  # an assignee key (pathways.assignees), or "none" for unassigned
    age: str = ""

    @property
    def active(self) -> bool:
        return any(vars(self).values())


def exception_report_get(*, date: date | None = None) -> ExceptionReport | None:
    """The report for ``date``, or the latest computed one."""
    reports = ExceptionReport.objects.all()
    if date is not None:
        return reports.filter(date=date).first()
    return reports.order_by("-date").first()


def exception_report_kind_counts(*, report: ExceptionReport) -> dict[str, int]:
    return dict(
        ExceptionReportLine.objects.filter(report=report)
        .values("kind")
        .annotate(count=Count("id"))
        .values_list("kind", "count")
    )


def _visible_site_ids(membership: Membership):
    return Subquery(visible_sites(membership).values("pk"))


def exception_queue_lines(
    *, membership: Membership, report: ExceptionReport, filters: QueueFilters
) -> QuerySet[ExceptionReportLine]:
    """The report's lines on the member's sites, filtered, in huddle order: site, step, kind,
    oldest first."""
    lines = (
        ExceptionReportLine.objects.filter(
            report=report, item__site_id__in=_visible_site_ids(membership)
        )
        .annotate(since=Coalesce("due_at", "item__anchor_at"))
        .select_related("item", "item__case", "item__site")
        .defer("item__case__referral_at")
    )
    if filters.site:
        lines = lines.filter(item__site__code=filters.site)
    if filters.kind:
        lines = lines.filter(kind=filters.kind)
    if not filters.status:
        lines = lines.filter(item__status__in=NEEDS_ACTION)
    elif filters.status != "all":
        lines = lines.filter(item__status=filters.status)
    if filters.step:
        lines = lines.filter(item__step=filters.step)
    if filters.assignee == "none":
        lines = lines.filter(item__assignee_key="")
    elif filters.assignee:
        lines = lines.filter(item__assignee_key=filters.assignee)
    if filters.age in AGE_BUCKETS:
        _, low, high = AGE_BUCKETS[filters.age]
        zone = membership.organization.zone
        if low is not None:
            lines = lines.filter(
                since__lt=local_midnight(report.date - timedelta(days=low - 1), zone)
            )
        if high is not None:
            lines = lines.filter(
                since__gte=local_midnight(report.date - timedelta(days=high), zone)
            )
    return lines.order_by(
        "item__site__code", "item__step", "kind", "since", "item__case__external_ref", "pk"
    )


def exception_report_lines_for_sites(
    *, report: ExceptionReport, site_ids, kind: str = "", status: str = ""
) -> QuerySet[ExceptionReportLine]:
    """The report's lines at ``site_ids`` (a partner key's sites), for the partner API."""
    lines = ExceptionReportLine.objects.filter(report=report, item__site_id__in=site_ids)
    if kind:
        lines = lines.filter(kind=kind)
    if status:
        lines = lines.filter(item__status=status)
    return lines.select_related("item", "item__case", "item__site").defer("item__case__referral_at")


def exception_age_days(*, report: ExceptionReport, since: datetime | None, zone) -> int | None:
    if since is None:
        return None
    return (report.date - timezone.localtime(since, zone).date()).days


def exception_queue_summary(lines: QuerySet[ExceptionReportLine]) -> list[dict]:
    """One row per (site, step, kind) of the filtered queue with its count and oldest due: the
    huddle's agenda."""
    return list(
        lines.order_by()
        .values(
            site_code=F("item__site__code"),
            site_name=F("item__site__name"),
            step=F("item__step"),
            line_kind=F("kind"),
        )
        .annotate(count=Count("id"), oldest=Min("since"))
        .order_by("site_code", "step", "line_kind")
    )


def exception_queue_steps(*, membership: Membership, report: ExceptionReport) -> list[str]:
    return list(
        ExceptionReportLine.objects.filter(
            report=report, item__site_id__in=_visible_site_ids(membership)
        )
        .order_by("item__step")
        .values_list("item__step", flat=True)
        .distinct()
    )


def exception_items_for_member(*, membership: Membership, pks) -> QuerySet[ExceptionItem]:
    return (
        ExceptionItem.objects.filter(pk__in=list(pks), site_id__in=_visible_site_ids(membership))
        .select_related("case", "site")
        .defer("case__referral_at")
    )


def exception_item_for_member(*, membership: Membership, pk: int) -> ExceptionItem | None:
    return exception_items_for_member(membership=membership, pks=[pk]).first()


def exception_item_line(*, item: ExceptionItem, report_id=None) -> ExceptionReportLine | None:
    """The item's line in one report (or its latest), to redraw its queue row."""
    lines = (
        ExceptionReportLine.objects.filter(item=item)
        .select_related("report", "item", "item__case", "item__site")
        .defer("item__case__referral_at")
        .annotate(since=Coalesce("due_at", "item__anchor_at"))
    )
    if report_id:
        line = lines.filter(report_id=report_id).first()
        if line is not None:
            return line
    return lines.order_by("-report__date").first()


def exception_item_history(*, item: ExceptionItem):
    return item.history.select_related("history_user").order_by("-history_date", "-history_id")


def case_for_member(*, membership: Membership, external_ref: str) -> Case | None:
    """The case, its ``referral_at`` None when it lies outside the plausible window: the
    stored value may be one Python cannot even hold (a BC date on PostgreSQL), so it is only
    read through a CASE that leaves it out (``case_ignored_rows`` shows it as text)."""
    case = plausible_referral(
        Case.objects.filter(
            external_ref=external_ref, site_id__in=_visible_site_ids(membership)
        ).select_related("site", "version", "version__pathway"),
        now=timezone.now(),
    ).first()
    if case is not None:
        case.referral_at = case.plausible_referral_at
    return case


def case_timeline(*, case: Case, now: datetime) -> list[CaseEvent]:
    """The case's events dated inside the plausible window, in the order they happened (not
    the order they arrived), each marked when it reached us long after it happened."""
    events = list(
        CaseEvent.objects.filter(
            plausible("occurred_at", until=latest_plausible(now)), case=case
        ).order_by("occurred_at", "id")
    )
    for event in events:
        event.arrived_late = event.received_at - event.occurred_at > LATE_ARRIVAL
        event.arrival_delay = event.received_at - event.occurred_at
    return events


def case_ignored_rows(*, case: Case, now: datetime) -> dict[str, list[dict]]:
    """The case's rows dated outside the plausible window, which its obligations leave out."""
    return {
        "referral": implausible_cases(now=now, case_id=case.pk),
        "events": implausible_events(now=now, case_id=case.pk),
    }


def case_obligations(*, case: Case, at: datetime) -> list[dict]:
    """The case's obligations and their status at ``at``, from the same reader and engine as
    the report (none while its referral lies outside the plausible window)."""
    engine_input = case_input(case=case, at=at)
    if engine_input is None:
        return []
    cases, events, definitions = engine_input
    obligations = engine.compute_obligations(cases, events, definitions, pd.Timestamp(at))
    obligations = obligations.sort_values(["due_at", "obligation_key"], kind="stable")
    rows = []
    for row in obligations.itertuples(index=False):
        rows.append(
            {
                "obligation_key": row.obligation_key,
                "step": row.step,
                "source": row.source,
                "anchor_at": _aware(row.anchor_at),
                "due_at": _aware(row.due_at),
                "completed_at": _aware(row.completed_at),
                "status": row.status,
                "badge": STATUS_BADGES.get(row.status, ""),
            }
        )
    return rows


def _aware(value) -> datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def case_exception_items(*, case: Case) -> QuerySet[ExceptionItem]:
    return case.exception_items.order_by("first_reported_on", "pk")


def case_exception_history(*, case: Case):
    return (
        ExceptionItem.history.filter(case_id=case.pk, organization_id=case.organization_id)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
