"""Reads for the supervisor exception queue and the case detail page. Every read is narrowed to
the member's visible sites: a missing row and one outside them look the same (None -> 404).

Exception rows show their case by reference only, and never load its referral date: one stored
outside the plausible window before the API refused it may be a date Python cannot hold (BC)."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from django.db.models import Count, F, Min, QuerySet, Subquery
from django.utils import timezone

from pathways import engine
from pathways.models import (
    Case,
    CaseEvent,
    EscalationRule,
    ExceptionItem,
    ExceptionReport,
    ExceptionReportLine,
    QueuePreference,
    Step,
)
from pathways.plausible_time import latest_plausible, plausible
from pathways.selectors.obligations import (
    case_input,
    implausible_cases,
    implausible_events,
    plausible_referral,
)
from scaling_ops.dates import local_midnight
from scaling_ops.models import Membership, Site
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

    def statuses(self) -> tuple[str, ...] | None:
        """The item statuses shown (None: every one)."""
        if not self.status:
            return NEEDS_ACTION
        if self.status == "all":
            return None
        return (self.status,)


def _shown_reports(date: date | None) -> QuerySet[ExceptionReport]:
    """The report for ``date``, or the latest computed one, as a one-row queryset. Reports whose
    lines the retention window dropped are not shown: they have nothing left to list."""
    reports = ExceptionReport.objects.filter(lines_dropped_at__isnull=True)
    if date is not None:
        return reports.filter(date=date)
    return reports.order_by("-date")


def exception_report_get(*, date: date | None = None) -> ExceptionReport | None:
    """The report for ``date``, or the latest computed one (see ``_shown_reports``)."""
    return _shown_reports(date).first()


def exception_report_exists(*, date: date | None = None) -> bool:
    return _shown_reports(date).exists()


def exception_report_kind_counts(*, report: ExceptionReport) -> dict[str, int]:
    return dict(
        ExceptionReportLine.objects.filter(report=report)
        .values("kind")
        .annotate(count=Count("id"))
        .values_list("kind", "count")
    )


def _visible_site_ids(membership: Membership):
    return Subquery(visible_sites(membership).values("pk"))


# --- the report's stored summary ----------------------------------------------------------------


def summary_line(row: dict) -> list:
    """One cell of a report's stored summary, from a grouped line row: [site, step, kind,
    status, count, oldest since]."""
    return [
        row["site_id"],
        row["step"],
        row["kind"],
        row["status"],
        row["count"],
        row["oldest"].isoformat(),
    ]


def exception_report_summary_rows(*, report_id: int) -> dict:
    """The summary stored with a report (``ExceptionReport.summary``): its lines grouped by
    site, step, kind and their item's status with count and oldest ``since``, the items still
    needing action per site whether on the report or not, and the step names. Four queries."""
    lines = (
        ExceptionReportLine.objects.filter(report_id=report_id)
        .order_by()
        .values("site_id", "step", "kind", status=F("item__status"))
        .annotate(count=Count("id"), oldest=Min("since"))
    )
    open_items = (
        ExceptionItem.objects.filter(status__in=NEEDS_ACTION)
        .order_by()
        .values("site_id")
        .annotate(count=Count("id"))
    )
    return {
        "lines": [summary_line(row) for row in lines],
        "open_items": {str(row["site_id"]): row["count"] for row in open_items},
        # The words its pages and CSV use for step and rule keys, as the pathways said then.
        "step_names": pathway_step_names(),
    }


def exception_report_step_names(*, report: ExceptionReport | None) -> dict[str, str]:
    """Step and rule names for a report's pages: stored with its summary (no query), else read."""
    if report is not None:
        names = exception_report_summary(report=report).get("step_names")
        if names is not None:
            return names
    return pathway_step_names()


def exception_report_summary(*, report: ExceptionReport) -> dict:
    """The report's stored summary; when triage or a later report cleared it, it is grouped
    again and stored (one UPDATE), so a page never groups every line twice."""
    if report.summary is None:
        report.summary = exception_report_summary_rows(report_id=report.pk)
        ExceptionReport.objects.filter(pk=report.pk).update(summary=report.summary)
    return report.summary


@dataclass(frozen=True)
class SummaryCell:
    site_id: int
    step: str
    kind: str
    count: int
    oldest: datetime


@dataclass(frozen=True)
class OpenCounts:
    """Every open-exception figure (home, queue header, queue list) comes from here: items
    needing action (open or assigned) in the member's sites, split into those on the report
    and those still open from earlier days that are not on it (a late step is on the report
    of the day it was completed only; an item the engine no longer reports stays open until
    someone closes it)."""

    on_report: int
    earlier: int

    @property
    def total(self) -> int:
        return self.on_report + self.earlier


def _site_ids(membership: Membership) -> set[int]:
    return set(visible_sites(membership).values_list("pk", flat=True))


def open_exception_counts(
    *, membership: Membership, report: ExceptionReport | None, site_ids: set[int] | None = None
) -> OpenCounts:
    """The one selector of open-exception figures (see ``OpenCounts``); from the report's
    stored summary, or one count when there is no report yet."""
    if site_ids is None:
        site_ids = _site_ids(membership)
    if report is None:
        total = ExceptionItem.objects.filter(status__in=NEEDS_ACTION, site_id__in=site_ids).count()
        return OpenCounts(on_report=0, earlier=total)
    summary = exception_report_summary(report=report)
    on_report = sum(
        row[4] for row in summary["lines"] if row[0] in site_ids and row[3] in NEEDS_ACTION
    )
    total = sum(count for site, count in summary["open_items"].items() if int(site) in site_ids)
    return OpenCounts(on_report=on_report, earlier=max(total - on_report, 0))


def exception_queue_cells(
    *, report: ExceptionReport, site_ids: set[int], filters: QueueFilters
) -> list[SummaryCell] | None:
    """The huddle summary of the filtered queue, one cell per (site, step, kind), from the
    stored summary; None when a filter the summary does not hold (age, assignee) is set and
    the lines must be grouped (``exception_queue_summary``)."""
    if filters.age or filters.assignee:
        return None
    statuses = filters.statuses()
    cells: dict[tuple, list] = {}
    for site_id, step, kind, status, count, oldest in exception_report_summary(report=report)[
        "lines"
    ]:
        if site_id not in site_ids or (statuses is not None and status not in statuses):
            continue
        if (filters.kind and kind != filters.kind) or (filters.step and step != filters.step):
            continue
        key = (site_id, step, kind)
        since = datetime.fromisoformat(oldest)
        if key in cells:
            cells[key][0] += count
            cells[key][1] = min(cells[key][1], since)
        else:
            cells[key] = [count, since]
    return [
        SummaryCell(site_id, step, kind, count, oldest)
        for (site_id, step, kind), (count, oldest) in sorted(cells.items())
    ]


def exception_queue_summary(lines: QuerySet[ExceptionReportLine]) -> list[SummaryCell]:
    """The huddle summary grouped from the filtered lines themselves (age or assignee set)."""
    return [
        SummaryCell(row["site_id"], row["step"], row["kind"], row["count"], row["oldest"])
        for row in lines.order_by()
        .values("site_id", "step", "kind")
        .annotate(count=Count("id"), oldest=Min("since"))
        .order_by("site_id", "step", "kind")
    ]


# --- the queue's lines --------------------------------------------------------------------------

# The queue's order, which the index report_line_queue_order holds for each report.
QUEUE_ORDER = ("site_id", "step", "kind", "since", "id")


def exception_queue_lines(
    *,
    membership: Membership,
    report: ExceptionReport,
    filters: QueueFilters,
    site_ids: set[int] | None = None,
) -> QuerySet[ExceptionReportLine]:
    """The report's lines on the member's sites, filtered, in huddle order: site, step, kind,
    oldest first. Every filter but status and assignee is a column of the line."""
    if site_ids is None:
        site_ids = _site_ids(membership)
    lines = ExceptionReportLine.objects.filter(report=report, site_id__in=sorted(site_ids))
    if filters.site:
        lines = lines.filter(
            site_id__in=Subquery(Site.objects.filter(code=filters.site).values("pk"))
        )
    if filters.kind:
        lines = lines.filter(kind=filters.kind)
    statuses = filters.statuses()
    if statuses is not None:
        lines = lines.filter(item__status__in=statuses)
    if filters.step:
        lines = lines.filter(step=filters.step)
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
    return lines.order_by(*QUEUE_ORDER)


def exception_items_open_earlier(
    *, membership: Membership, report: ExceptionReport, site_ids: set[int] | None = None
) -> QuerySet[ExceptionItem]:
    """Items needing action in the member's sites that are not on ``report``: the difference
    between the queue's list and the home page's count (``OpenCounts.earlier``)."""
    if site_ids is None:
        site_ids = _site_ids(membership)
    return (
        ExceptionItem.objects.filter(status__in=NEEDS_ACTION, site_id__in=sorted(site_ids))
        .exclude(lines__report=report)
        .select_related("case")
        .defer("case__referral_at")
        .order_by("site_id", "step", "kind", "due_at", "pk")
    )


def exception_queue_steps(*, report: ExceptionReport, site_ids: set[int]) -> list[str]:
    """The steps on the report at these sites, from its stored summary."""
    return sorted(
        {row[1] for row in exception_report_summary(report=report)["lines"] if row[0] in site_ids}
    )


def queue_preference_query(*, user) -> str:
    """The queue filters ``user`` last chose in the bound organisation ("" when none)."""
    return QueuePreference.objects.filter(user=user).values_list("query", flat=True).first() or ""


def pathway_step_names() -> dict[str, str]:
    """Each step key's name as the pathways say it (the newest version's name when versions
    differ) and each escalation rule's key in words: what pages and CSVs show instead of keys.
    Two queries."""
    names = {
        key: humanize_key(key)
        for key in EscalationRule.objects.order_by().values_list("key", flat=True).distinct()
    }
    names.update(_step_names())
    return names


def _step_names() -> dict[str, str]:
    """Each step key's name; where two keys of different pathways share a name (each
    pathway's "Follow-up after missed contact"), the name says its pathway, so the queue's
    rows, filters and CSVs do not show two alike."""
    named: dict[str, str] = {}
    pathways_of: dict[str, set[str]] = {}
    for key, name, pathway in Step.objects.order_by("version__number", "pk").values_list(
        "key", "name", "version__pathway__name"
    ):
        named[key] = name
        pathways_of.setdefault(key, set()).add(pathway)
    keys_named = Counter(named.values())
    return {
        key: f"{name} ({next(iter(pathways_of[key]))})"
        if keys_named[name] > 1 and len(pathways_of[key]) == 1
        else name
        for key, name in named.items()
    }


def humanize_key(key: str) -> str:
    """ "repeated-missed-contacts" -> "Repeated missed contacts" (a rule has no name of its own)."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def exception_age_days(*, report: ExceptionReport, since: datetime | None, zone) -> int | None:
    if since is None:
        return None
    return (report.date - timezone.localtime(since, zone).date()).days


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
