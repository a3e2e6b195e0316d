"""Workforce pressure figures for DESIGN.md section 4a, per site over organisation-local days,
and the aggregates commissioners may read as workforce evidence. Both are registered into
pathways' ``workforce_pressure`` / ``workforce_evidence`` points; assurance asks them.

Caseload on a day D is read as the day ends (the instant local midnight of D+1): a case counts
when it was referred and not closed before that instant and its current assignment (assigned
before it, not ended by it) is to a practitioner in post on D (started on or before D, not
left on or before D). A leaver's cases that were not reassigned have nobody to count them.
The practitioner-days above the maximum compare each holder's open cases with the
``max_caseload`` of their team's workforce standard (else the organisation's).

Staffing gap on D: Σ over the site's teams of max(0, establishment FTE in force on D − FTE of
the team's staff in post on D); the vacancy rate of D is the gap over the site's establishment.

A fixed handful of queries however many days, cases and staff; the days are walked in memory.
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db.models import Count, Exists, OuterRef, Q, Subquery

from pathways.models import CaseEvent
from scaling_ops.dates import local_window
from workforce.models import (
    CaseAssignment,
    StaffMember,
    Team,
    TeamEstablishment,
    WorkforceStandard,
)

NEVER = np.iinfo("int64").max


def _ends_of_days(days: list[date], zone) -> list[int]:
    """The UTC instant (ns) each local day ends at."""
    return [
        int(pd.Timestamp(local_window(zone=zone, start=d, end=d + timedelta(days=1))[1]).value)
        for d in days
    ]


def _ns(series: pd.Series) -> np.ndarray:
    """Instants as UTC nanoseconds; a missing one (never closed, never ended) is the far future."""
    values = pd.to_datetime(series, utc=True)
    raw = values.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]").view("int64")
    return np.where(values.isna().to_numpy(), NEVER, raw)


def _ordinals(series: pd.Series, missing: date) -> np.ndarray:
    return np.array(
        [(missing if v is None or pd.isna(v) else v).toordinal() for v in series], dtype="int64"
    )


def caseload_frame(*, site_ids: list[int], first_end, last_end) -> pd.DataFrame:
    """Assignments that may be current at some day's end in [first_end, last_end]: one query."""
    return pd.DataFrame(
        _caseload_rows(site_ids=site_ids, first_end=first_end, last_end=last_end),
        columns=CASELOAD_COLUMNS,
    )


CASELOAD_COLUMNS = [
    "site_id",
    "practitioner_id",
    "pathway_id",
    "referral_at",
    "closed_at",
    "assigned_at",
    "ended_at",
    "start_date",
    "left_on",
    "name",
]


def _caseload_rows(*, site_ids: list[int], first_end, last_end) -> list[tuple]:
    """``caseload_frame``'s rows as tuples (``CASELOAD_COLUMNS``)."""
    # The first closure by the events' (case, type, time) order: no GROUP BY, which SQLite
    # evaluated over every event for each assignment.
    closed = (
        CaseEvent.objects.filter(case_id=OuterRef("case_id"), type="case_closed")
        .order_by("occurred_at")
        .values("occurred_at")
    )
    return list(
        CaseAssignment.objects.filter(
            case__site_id__in=site_ids, assigned_at__lt=last_end, case__referral_at__lt=last_end
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=first_end))
        .annotate(closed_at=Subquery(closed[:1]))
        .values_list(
            "case__site_id",
            "practitioner_id",
            "practitioner__team__pathway_id",
            "case__referral_at",
            "closed_at",
            "assigned_at",
            "ended_at",
            "practitioner__start_date",
            "practitioner__left_on",
            "practitioner__name",
        )
    )


def _max_caseloads() -> tuple[dict, int]:
    standards = {s.pathway_id: s.max_caseload for s in WorkforceStandard.objects.all()}
    default = standards.get(None, WorkforceStandard._meta.get_field("max_caseload").default)
    return standards, default


def daily_caseloads(
    frame: pd.DataFrame, days: list[date], ends: list[int], limits: tuple[dict, int]
) -> dict[date, pd.DataFrame]:
    """Day -> one row per (site, practitioner) holding cases at the day's end: ``cases``,
    ``limit``. Pure: no database."""
    if frame.empty:
        return {day: pd.DataFrame(columns=["site_id", "practitioner_id", "cases", "limit", "name"])
                for day in days}  # fmt: skip
    standards, default = limits
    referral = _ns(frame["referral_at"])
    closed = _ns(frame["closed_at"])
    assigned = _ns(frame["assigned_at"])
    ended = _ns(frame["ended_at"])
    start = _ordinals(frame["start_date"], date.max)
    left = _ordinals(frame["left_on"], date.max)
    limit = frame["pathway_id"].map(
        lambda p: default if p is None or pd.isna(p) else standards.get(int(p), default)
    )
    result = {}
    for day, end in zip(days, ends, strict=True):
        held = (
            (referral < end)
            & (closed >= end)
            & (assigned < end)
            & (ended >= end)
            & (start <= day.toordinal())
            & (left > day.toordinal())
        )
        current = frame.loc[held, ["site_id", "practitioner_id", "name"]].assign(limit=limit[held])
        result[day] = current.groupby(["site_id", "practitioner_id"], as_index=False).agg(
            cases=("limit", "size"), limit=("limit", "first"), name=("name", "first")
        )
    return result


def _establishment_by_day(site_ids: list[int], days: list[date]) -> dict[int, list]:
    """Site -> per day (gap FTE, establishment FTE), three queries."""
    teams = dict(Team.objects.filter(site_id__in=site_ids).values_list("pk", "site_id"))
    dated = defaultdict(list)
    for team_id, since, fte in (
        TeamEstablishment.objects.filter(team_id__in=teams, effective_from__lte=days[-1])
        .order_by("team_id", "effective_from")
        .values_list("team_id", "effective_from", "fte")
    ):
        dated[team_id].append((since, Decimal(fte)))
    staff = list(
        StaffMember.objects.filter(team_id__in=teams, start_date__lte=days[-1])
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=days[0]))
        .values_list("team_id", "fte", "start_date", "left_on")
    )
    result = defaultdict(list)
    for day in days:
        gap, establishment = defaultdict(Decimal), defaultdict(Decimal)
        for team_id, values in dated.items():
            funded = next((fte for since, fte in reversed(values) if since <= day), None)
            if funded is None:
                continue
            in_post = sum(
                (Decimal(fte) for t, fte, start, left in staff
                 if t == team_id and start <= day and (left is None or left > day)),
                Decimal(0),
            )  # fmt: skip
            site_id = teams[team_id]
            establishment[site_id] += funded
            gap[site_id] += max(Decimal(0), funded - in_post)
        for site_id in set(teams.values()):
            result[site_id].append((float(gap[site_id]), float(establishment[site_id])))
    return result


def site_pressure(*, site_ids: list[int], days: list[date], zone) -> dict[int, dict]:
    """The ``workforce_pressure`` provider: per site, sums over ``days`` (see the module)."""
    if not days or not site_ids:
        return {}
    ends = _ends_of_days(days, zone)
    first_end = pd.Timestamp(ends[0], tz="UTC").to_pydatetime()
    last_end = pd.Timestamp(ends[-1], tz="UTC").to_pydatetime()
    frame = caseload_frame(site_ids=site_ids, first_end=first_end, last_end=last_end)
    limits = _max_caseloads()
    per_day = daily_caseloads(frame, days, ends, limits)
    default_limit = limits[1]
    figures = {
        site_id: {
            "caseload_sum": 0.0,
            "caseload_days": 0,
            "practitioner_days": 0,
            "practitioner_days_above": 0,
            "max_caseload": default_limit,
            "gap_fte_sum": 0.0,
            "establishment_fte_sum": 0.0,
            "vacancy_sum": 0.0,
            "establishment_days": 0,
            "days": len(days),
        }  # fmt: skip
        for site_id in site_ids
    }
    for holders in per_day.values():
        for site_id, group in holders.groupby("site_id"):
            site = figures[int(site_id)]
            site["caseload_sum"] += float(group["cases"].sum()) / len(group)
            site["caseload_days"] += 1
            site["practitioner_days"] += len(group)
            site["practitioner_days_above"] += int((group["cases"] > group["limit"]).sum())
    for site_id, values in _establishment_by_day(site_ids, days).items():
        site = figures[site_id]
        for gap, establishment in values:
            if establishment <= 0:
                continue
            site["gap_fte_sum"] += gap
            site["establishment_fte_sum"] += establishment
            site["vacancy_sum"] += gap / establishment
            site["establishment_days"] += 1
    return figures


# --- workforce evidence for commissioners ------------------------------------------------------

EVIDENCE_ROWS = (
    ("supervision", "Practitioners supervised within the interval"),
    ("training", "Staff with every core module valid"),
    ("skill_mix", "Teams at or above the skill-mix minimum"),
    ("span", "Supervisors within the maximum span"),
    ("vacancy_rate", "Vacancy rate"),
    ("caseload", "Mean caseload per practitioner"),
    ("caseload_above_max", "Practitioners above the maximum caseload"),
)


def site_evidence(*, site_ids: list[int], day: date, zone) -> dict[int, list[dict]]:
    """The ``workforce_evidence`` provider: per site, aggregate rows as they stood on ``day``.
    Counts and shares only: no person's or team's name leaves this function."""
    from workforce.services.checks import check_results

    if not site_ids:
        return {}
    kinds = {
        "supervision_overdue": "supervision",
        "core_training_missing_or_expired": "training",
        "skill_mix_below_minimum": "skill_mix",
        "supervisor_span_exceeded": "span",
    }
    counted = defaultdict(lambda: [0, 0, []])  # (site, code) -> passing, checked, thresholds
    for result in check_results(day=day, site_ids=site_ids):
        code = kinds.get(result.kind)
        if code is None:
            continue
        cell = counted[(result.site_id, code)]
        cell[0] += not result.failing
        cell[1] += 1
        if result.threshold is not None:
            cell[2].append(result.threshold)
    pressure = site_pressure(site_ids=site_ids, days=[day], zone=zone)
    standards = {
        "supervision": lambda t: f"every {int(min(t))} days" if t else "",
        "training": lambda t: "all core modules",
        "skill_mix": lambda t: f"minimum {min(t):.0%} experienced" if t else "",
        "span": lambda t: f"at most {int(min(t))} practitioners" if t else "",
    }
    result = {}
    for site_id in site_ids:
        rows = []
        for code, label in EVIDENCE_ROWS[:4]:
            passing, checked, thresholds = counted.get((site_id, code), (0, 0, []))
            rows.append({
                "code": code, "label": label, "numerator": passing, "denominator": checked,
                "value": 100 * passing / checked if checked else None, "unit": "percent",
                "standard": standards[code](thresholds),
            })  # fmt: skip
        site = pressure.get(site_id, {})
        establishment = site.get("establishment_fte_sum", 0.0)
        rows.append({
            "code": "vacancy_rate", "label": EVIDENCE_ROWS[4][1],
            "numerator": site.get("gap_fte_sum", 0.0), "denominator": establishment,
            "value": 100 * site["gap_fte_sum"] / establishment if establishment else None,
            "unit": "percent", "standard": "FTE gap over funded establishment",
        })  # fmt: skip
        holders = site.get("practitioner_days", 0)
        rows.append({
            "code": "caseload", "label": EVIDENCE_ROWS[5][1],
            "numerator": site.get("caseload_sum", 0.0), "denominator": None,
            "value": site["caseload_sum"] if site.get("caseload_days") else None,
            "unit": "number", "standard": f"at most {site.get('max_caseload', '')} open cases",
        })  # fmt: skip
        rows.append({
            "code": "caseload_above_max", "label": EVIDENCE_ROWS[6][1],
            "numerator": site.get("practitioner_days_above", 0), "denominator": holders,
            "value": 100 * site["practitioner_days_above"] / holders if holders else None,
            "unit": "percent", "standard": "none",
        })  # fmt: skip
        result[site_id] = rows
    return result


# --- caseload for supervisors and leads --------------------------------------------------------

TREND_WEEKS = 8


def caseload_days(today: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The end of each of the last ``weeks`` weeks (oldest first), ending with ``today``."""
    return [today - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def practitioner_caseloads(*, site_ids: list[int], days: list[date], zone) -> dict[int, dict]:
    """Practitioner -> {"site_id", "limit", "cases": [open cases at each day's end]} for those
    holding any case on one of ``days``. Two queries (the assignments, the standards); one when
    no case is assigned, as in an organisation that does not record assignments."""
    if not days or not site_ids:
        return {}
    ends = _ends_of_days(days, zone)
    rows = _caseload_rows(
        site_ids=site_ids,
        first_end=pd.Timestamp(ends[0], tz="UTC").to_pydatetime(),
        last_end=pd.Timestamp(ends[-1], tz="UTC").to_pydatetime(),
    )
    if not rows:
        return {}  # no frame built: the exception queue asks on every page
    frame = pd.DataFrame(rows, columns=CASELOAD_COLUMNS)
    per_day = daily_caseloads(frame, days, ends, _max_caseloads())
    found: dict[int, dict] = {}
    for index, day in enumerate(days):
        for row in per_day[day].itertuples(index=False):
            entry = found.setdefault(
                int(row.practitioner_id),
                {
                    "site_id": int(row.site_id),
                    "limit": int(row.limit),
                    "name": row.name,
                    "cases": [0] * len(days),
                },  # fmt: skip
            )
            entry["cases"][index] = int(row.cases)
    return found


def above_maximum_on(*, sites, day: date, zone) -> list[dict]:
    """Practitioners holding more open cases than their standard's maximum at the end of
    ``day``: [{"site", "practitioner_id", "name", "cases", "limit"}], the figure
    ``practitioner_caseloads`` gives for the one day. The daily workforce check run stores it
    (``CaseloadFlag``) for the exception queue's panel. The same two queries however many
    practitioners are above it (one when none holds a case)."""
    by_id = {s.pk: s for s in sites}
    if not by_id:
        return []
    end = pd.Timestamp(_ends_of_days([day], zone)[0], tz="UTC").to_pydatetime()
    held = _held_at_end(site_ids=list(by_id), day=day, end=end)
    if not held:
        return []
    standards, default = _max_caseloads()
    found: dict[int, dict] = {}
    # As practitioner_caseloads reads the (site, practitioner) groups in order: a practitioner
    # holding cases at two sites keeps the first site, its limit and name, and the last count.
    for site_id, practitioner_id, pathway_id, name, cases in held:
        entry = found.setdefault(
            practitioner_id,
            {"site_id": site_id, "practitioner_id": practitioner_id, "name": name,
             "limit": default if pathway_id is None else standards.get(pathway_id, default)},
        )  # fmt: skip
        entry["cases"] = cases
    return sorted(
        (
            {"site": by_id[v["site_id"]], "practitioner_id": v["practitioner_id"],
             "name": v["name"], "cases": v["cases"], "limit": v["limit"]}
            for v in found.values()
            if v["cases"] > v["limit"]
        ),
        key=lambda row: (row["site"].code, -row["cases"], row["name"]),
    )  # fmt: skip


def _held_at_end(*, site_ids: list[int], day: date, end) -> list[tuple]:
    """(site, practitioner, the team's pathway, name, open cases) at the instant ``end`` that
    ``day`` ends, in (site, practitioner) order: ``daily_caseloads``'s test for one day, made
    by the database over the assignments and grouped there (reading every assignment that may
    be current into a frame took 1.7 s at 250,000 assigned cases, this 0.2 s). Tests compare
    its answer with the frame's for every kind of assignment."""
    closed = CaseEvent.objects.filter(
        case_id=OuterRef("case_id"), occurred_at__lt=end, type="case_closed"
    )
    return list(
        CaseAssignment.objects.filter(
            case__site_id__in=site_ids,
            assigned_at__lt=end,
            case__referral_at__lt=end,
            practitioner__start_date__lte=day,
        )
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end))
        .filter(Q(practitioner__left_on__isnull=True) | Q(practitioner__left_on__gt=day))
        .filter(~Exists(closed))
        .values_list(
            "case__site_id", "practitioner_id", "practitioner__team__pathway_id",
            "practitioner__name",
        )
        .annotate(cases=Count("id"))
        .order_by("case__site_id", "practitioner_id")
    )  # fmt: skip
