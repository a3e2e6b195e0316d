"""A site's figures for one week, and the tracked parts of a drift response, as the apps above
pathways give them (see ``site_week_figures`` and ``drift_response_parts`` in
pathways/extension_points.py). Pathways gives the exception figures itself: the lines of the
daily report for the week's last day at the site, as the exception queue shows them for that
date with every status."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pathways.extension_points import drift_response_parts, follow_up_actions, site_week_figures
from pathways.models import ExceptionKind, ExceptionReportLine, PathwayVersion, Step
from pathways.selectors.exceptions import exception_queue_summary, exception_report_get
from pathways.wording import step_name
from scaling_ops.links import org_path


@dataclass(frozen=True)
class SiteFigure:
    topic: str  # the agenda heading: "Late and overdue steps", "Failed audit answers"
    label: str  # what is counted, in words
    value: float | int | str
    url: str  # the page that shows the same figure
    # A rate's parts, where the figure is one (the escalation rate): raised in time, due.
    numerator: int | None = None
    denominator: int | None = None


@dataclass(frozen=True)
class ResponsePart:
    label: str
    due_on: date | None
    done_on: date | None
    url: str = ""
    detail: str = ""

    def state(self, today: date) -> str:
        """done, done late, due or late."""
        if self.done_on is not None:
            return "done late" if self.due_on and self.done_on > self.due_on else "done"
        return "late" if self.due_on and today > self.due_on else "due"


def step_label(key: str, names: dict[str, str]) -> str:
    """A step's name in the active versions; an escalation rule's key (a missed escalation has
    no step of its own) in words."""
    return step_name(key, names)


def step_names() -> dict[str, str]:
    return dict(
        Step.objects.filter(version__status=PathwayVersion.Status.ACTIVE).values_list("key", "name")
    )


def figures_for_week(*, site, week_start: date, week_end: date, organization) -> list[SiteFigure]:
    figures = []
    for provider in site_week_figures.providers():
        figures.extend(
            provider(site=site, week_start=week_start, week_end=week_end, organization=organization)
        )
    return figures


def parts_for_response(*, source_key: str, site) -> list[ResponsePart]:
    parts = []
    for provider in drift_response_parts.providers():
        parts.extend(provider(source_key=source_key, site=site))
    return parts


TOPICS = {
    ExceptionKind.OVERDUE_STEP: "Missed touchpoints and overdue steps",
    ExceptionKind.LATE_STEP: "Late steps",
    ExceptionKind.MISSED_ESCALATION: "Escalations",
    ExceptionKind.INCOMPLETE_ASSESSMENT: "Incomplete assessments",
}


def exception_week_figures(*, site, week_start: date, week_end: date, organization):
    """The report for ``week_end`` at the site, every status, by step and kind: the figures of
    the exception queue at ``?date=<week_end>&site=<site>&status=all``."""
    report = exception_report_get(date=week_end)
    if report is None:
        return []
    lines = ExceptionReportLine.objects.filter(report=report, site=site)
    names = step_names()
    kinds = dict(ExceptionKind.choices)
    queue = {"date": week_end.isoformat(), "site": site.code, "status": "all"}
    return [
        SiteFigure(
            topic=TOPICS.get(cell.kind, kinds.get(cell.kind, cell.kind)),
            # On the week's last report, whenever they arose: beside the week's escalation
            # rate (obligations due in the week), the count says what it counts.
            label=f"{step_label(cell.step, names)}: {kinds.get(cell.kind, '')}, "
            f"on the queue on {week_end:%-d %B}",
            value=cell.count,
            url=org_path(
                organization,
                "exception_queue",
                query={**queue, "step": cell.step, "kind": cell.kind},
            ),
        )
        for cell in exception_queue_summary(lines)
    ]


@dataclass(frozen=True)
class FollowUpAction:
    """An improvement action as a record's page lists it (``follow_up_actions``)."""

    reference: str
    title: str
    owner: str
    deadline: date
    status: str  # in words
    overdue: bool
    url: str


@dataclass(frozen=True)
class FollowUpLog:
    raise_action: Callable[..., FollowUpAction]
    actions_for: Callable[..., dict[int, list[FollowUpAction]]]


def follow_up_log() -> FollowUpLog | None:
    """The registered improvement log (the first provider), or None without one."""
    providers = follow_up_actions.providers()
    return providers[0] if providers else None


def escalation_week_figures(*, site, week_start: date, week_end: date, organization):
    """The week's escalation rate at the site: escalations raised in time over those due in
    the week, as the escalations page shows them for the same days."""
    from pathways.selectors.escalations import escalation_rate

    rate = escalation_rate(site=site, start=week_start, end=week_end, organization=organization)
    return [
        SiteFigure(
            topic=TOPICS[ExceptionKind.MISSED_ESCALATION],
            label="Escalation rate: escalations raised in time, of those due in the week",
            value=rate.in_words(),
            url=org_path(
                organization,
                "exception_escalation_rate",
                query={
                    "site": site.code,
                    "from": week_start.isoformat(),
                    "to": week_end.isoformat(),
                },
            ),
            numerator=rate.raised_in_time,
            denominator=rate.due,
        )
    ]
