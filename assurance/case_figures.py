"""The monthly measures of a chosen set of cases, computed exactly as the monthly snapshot computes
them (``assurance.services.snapshots.case_month_parts``: the same month reach, engine input
reader, engine, measures and cutoff), only narrowed to the cases matching a condition. Nothing is
stored: a change proposal's evaluation (learning) reads the figures of a pilot's own cases with
it, so that its figures equal the snapshot's figures of the same cases and months.

Only the measures computed from cases, their events and obligations can be narrowed to a set of
cases (``CASE_MEASURES``); audits, incidents, referral volume and the pressure figures belong to a
site and a month, not to a case."""

from datetime import date, datetime

import pandas as pd
from django.db.models import Q
from django.utils import timezone

from assurance import measures
from assurance.services.metrics import assurance_settings_get, month_window
from assurance.services.snapshots import case_month_parts
from pathways.selectors.obligations import engine_definitions
from scaling_ops import tenancy
from scaling_ops.models import Organization

CASE_MEASURES = (
    "timeliness",
    "touchpoint_completion",
    "escalation_adherence",
    "assessment_completeness",
    "adverse_outcome_rate",
    "safeguarding_response_timeliness",
)
COLUMNS = ["month", *measures.FIGURE_COLUMNS]


def case_set_month_figures(
    *,
    organization: Organization,
    months: list[date],
    cases: Q,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Per month (organisation-local, first days) the figures (``measures.FIGURE_COLUMNS`` and
    ``month``) of the cases matching ``cases`` (a condition on ``Case``), each month seen at its
    end or at ``now`` if earlier, as its snapshot would be; months not started by ``now`` are
    left out. One pass of the snapshot's chunked computation per month."""
    tenancy.refuse_another_organization(
        organization.pk, doing=f"read organisation {organization.pk}'s case figures"
    )
    now = now or timezone.now()
    frames = []
    with tenancy.scope(organization):
        settings = assurance_settings_get()
        definitions = engine_definitions()
        for month in months:
            start, end = month_window(organization=organization, month=month)
            if start > now:
                continue
            parts = case_month_parts(
                definitions,
                start=start,
                end=end,
                cutoff=min(end, now),
                now=now,
                settings=settings,
                cases=cases,
            )
            figures = measures.combine(parts)
            if not figures.empty:
                frames.append(figures.assign(month=month.replace(day=1))[COLUMNS])
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype="object") for column in COLUMNS})
    return pd.concat(frames, ignore_index=True)
