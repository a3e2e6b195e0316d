"""A site's escalation rate over a span of days: the escalation rules' obligations due in it
(DESIGN.md section 3), and how many were met (the escalation raised by its due time), seen at
the span's end. The coaching agenda's "escalation rate" and the page it links to both read it.

Set-based: the candidate cases (a ``contact_missed`` at the site close enough before the span
to anchor an obligation due in it) in bounded chunks through the one engine input reader, one
query for the cases and one for their events per chunk."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from django.db.models import Exists, OuterRef
from django.utils import timezone

from pathways import engine
from pathways.models import CaseEvent, EventType
from pathways.selectors.obligations import (
    CASE_ROW,
    case_chunks,
    case_frames,
    engine_data,
    engine_definitions,
    plausible_cases,
)
from scaling_ops.dates import local_window

CHUNK_SIZE = 500
COUNTED = ("met", "late", "overdue")
STATUS_WORDS = {
    "met": "raised in time",
    "late": "raised late",
    "overdue": "not raised",
}


@dataclass(frozen=True)
class EscalationRate:
    start: date
    end: date  # the last day, inclusive
    raised_in_time: int
    due: int
    # one per obligation: case_ref, rule, due_at, raised_at, status (in words)
    rows: list[dict] = field(default_factory=list)

    @property
    def percent(self) -> float | None:
        return 100.0 * self.raised_in_time / self.due if self.due else None

    def in_words(self) -> str:
        if not self.due:
            return "none due"
        return f"{self.raised_in_time} of {self.due} ({self.percent:.0f}%)"


def escalation_rate(
    *, site, start: date, end: date, organization, now: datetime | None = None
) -> EscalationRate:
    """The escalation obligations at ``site`` due from ``start`` to ``end`` (organisation-local
    days, inclusive), with their status at the end of ``end``: met counts as raised in time;
    late and overdue do not; obligations voided by a closure are not due."""
    now = now or timezone.now()
    window_start, window_end = local_window(
        zone=organization.zone, start=start, end=end + timedelta(days=1)
    )
    definitions = engine_definitions()
    longest = max(
        (rule.escalate_within_hours for d in definitions.values() for rule in d.escalation_rules),
        default=None,
    )
    if longest is None:
        return EscalationRate(start=start, end=end, raised_in_time=0, due=0)
    # An obligation due in the span is anchored by a missed contact at most ``longest`` hours
    # before it: only cases with one such contact can hold one.
    anchoring = CaseEvent.objects.filter(
        case_id=OuterRef("pk"),
        type=EventType.CONTACT_MISSED,
        occurred_at__gte=window_start - timedelta(hours=longest),
        occurred_at__lt=window_end,
    )
    cases = plausible_cases(cutoff=window_end, now=now).filter(Exists(anchoring), site=site)
    cutoff = pd.Timestamp(window_end)
    lower, upper = pd.Timestamp(window_start), cutoff
    rows = []
    for chunk in case_chunks(cases, chunk_size=CHUNK_SIZE, fields=(*CASE_ROW, "external_ref")):
        refs = {row[0]: row[5] for row in chunk}
        case_frame, events = case_frames(
            chunk, cutoff=window_end, now=now, data_of=engine_data(definitions)
        )
        obligations = engine.compute_obligations(case_frame, events, definitions, cutoff)
        due = obligations[
            (obligations["source"] == "escalation")
            & (obligations["due_at"] >= lower)
            & (obligations["due_at"] < upper)
            & obligations["status"].isin(COUNTED)
        ]
        for ob in due.itertuples(index=False):
            rows.append(
                {
                    "case_ref": refs[ob.case_id],
                    "rule": ob.step,
                    "due_at": ob.due_at.to_pydatetime(),
                    "raised_at": None
                    if pd.isna(ob.completed_at)
                    else ob.completed_at.to_pydatetime(),
                    "status": ob.status,
                    "status_words": STATUS_WORDS[ob.status],
                }
            )
    rows.sort(key=lambda row: (row["due_at"], row["case_ref"]))
    met = sum(1 for row in rows if row["status"] == "met")
    return EscalationRate(start=start, end=end, raised_in_time=met, due=len(rows), rows=rows)
