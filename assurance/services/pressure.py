"""The pressure figures and stability verdicts of a month's snapshots (DESIGN.md section 4a).

Called once by ``assurance_snapshot_compute`` right after the month's snapshots are written and
inside the same transaction, so contracts and drift see them. It stores, per site:
``referral_volume`` (with the surge test in ``detail``), ``caseload_mean``,
``caseload_above_max``, ``staffing_gap``, ``vacancy_rate``, ``pressure_month`` (1/0 with its
reasons), one ``stability`` row per process measure (``step`` = the measure's code) overall and
for high-risk cases (``dimension`` risk_tier, ``segment`` high), and ``unstable_measures``.

Workforce figures come from pathways' ``workforce_pressure`` point (workforce registers it):
assurance never imports workforce. A fixed number of queries however many cases, staff and
months: the referral counts, the earlier months' stored figures, and the provider's own."""

from collections import defaultdict
from datetime import date, timedelta

import pandas as pd
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from assurance import analysis, stability
from assurance.models import AssuranceSettings, SnapshotValue
from assurance.services.metrics import PROCESS_MEASURES, month_add
from pathways.extension_points import workforce_pressure
from pathways.selectors.obligations import plausible_cases
from scaling_ops.dates import local_midnight

BATCH_SIZE = 2000
HIGH = ("risk_tier", "high")
SPLITS = (("all", "all"), HIGH)


def month_days(*, month: date, cutoff, zone) -> list[date]:
    """The organisation-local days of ``month`` that began before ``cutoff``."""
    last_instant = cutoff - timedelta(microseconds=1)
    last = min(month_add(month, 1) - timedelta(days=1), timezone.localdate(last_instant, zone))
    return [month + timedelta(days=k) for k in range((last - month).days + 1)]


def referral_volumes(*, months: list[date], cutoff, now, zone, site_ids) -> dict[tuple, int]:
    """(site, month) -> cases referred in the organisation-local month (plausible referrals,
    by the cutoff): one query."""
    rows = (
        plausible_cases(cutoff=cutoff, now=now)
        .filter(site_id__in=site_ids, referral_at__gte=local_midnight(months[0], zone))
        .annotate(month=TruncMonth("referral_at", tzinfo=zone))
        .values("site_id", "month")
        .annotate(n=Count("pk"))
        .values_list("site_id", "month", "n")
    )
    volumes: dict[tuple, int] = defaultdict(int)
    for site_id, truncated, n in rows:
        day = truncated.date() if hasattr(truncated, "date") else truncated
        volumes[(site_id, day.replace(day=1))] += n
    return volumes


def _earlier_figures(*, site_ids, months: list[date]) -> dict[tuple, tuple]:
    """(site, month, measure, dimension, segment) -> (numerator, denominator) of the current
    revision of earlier months: the process measures overall and for high-risk cases, and the
    pressure flag. One query."""
    from assurance.selectors import current_snapshot_ids

    if not months:
        return {}
    rows = SnapshotValue.objects.filter(
        snapshot_id__in=current_snapshot_ids(months=months, site_ids=site_ids),
        measure__in=[*PROCESS_MEASURES, "pressure_month"],
        step="",
        dimension__in=["all", "risk_tier"],
        segment__in=["all", "high"],
    ).values_list(
        "snapshot__site_id", "snapshot__month", "measure", "dimension", "segment", "numerator",
        "denominator",
    )  # fmt: skip
    return {
        (site_id, m, measure, dimension, segment): (num or 0.0, den or 0.0)
        for site_id, m, measure, dimension, segment, num, den in rows
    }


def _this_month(figures: pd.DataFrame) -> dict[tuple, tuple]:
    """(site, measure, dimension, segment) -> (numerator, denominator) of the month's process
    measures, from the figures being stored."""
    if figures.empty:
        return {}
    chosen = figures[
        (figures["step"] == "")
        & figures["measure"].isin(PROCESS_MEASURES)
        & (
            ((figures["dimension"] == "all") & (figures["segment"] == "all"))
            | ((figures["dimension"] == HIGH[0]) & (figures["segment"].astype(str) == HIGH[1]))
        )
    ]
    return {
        (int(r.site_id), r.measure, r.dimension, str(r.segment)): (
            float(r.numerator or 0.0),
            float(0.0 if pd.isna(r.denominator) else r.denominator),
        )
        for r in chosen.itertuples(index=False)
    }


def pressure_values_store(
    *, organization, month: date, snapshots, figures: pd.DataFrame, settings: AssuranceSettings,
    cutoff, now,
) -> list[SnapshotValue]:  # fmt: skip
    if not snapshots:
        return []
    zone = organization.zone
    by_site = {s.site_id: s for s in snapshots}
    site_ids = sorted(by_site)
    volumes = referral_volumes(
        months=[month_add(month, -k) for k in (3, 2, 1, 0)],
        cutoff=cutoff, now=now, zone=zone, site_ids=site_ids,
    )  # fmt: skip
    days = month_days(month=month, cutoff=cutoff, zone=zone)
    providers = workforce_pressure.providers()
    workforce = providers[0](site_ids=site_ids, days=days, zone=zone) if providers and days else {}
    window = [month_add(month, -k) for k in range(settings.stability_window_months - 1, 0, -1)]
    earlier = _earlier_figures(site_ids=site_ids, months=window)
    current = _this_month(figures)
    values = []

    def add(site_id, measure, numerator, denominator=None, *, count, step="", dimension="all",
            segment="all", value=None, detail=None):  # fmt: skip
        if value is None:
            value = numerator if count else analysis.rate(numerator, denominator)
        values.append(
            SnapshotValue(
                organization_id=organization.pk,
                snapshot=by_site[site_id],
                measure=measure,
                step=step,
                dimension=dimension,
                segment=segment,
                numerator=numerator,
                denominator=denominator,
                value=value,
                detail=detail or {},
            )
        )

    for site_id in site_ids:
        volume = volumes.get((site_id, month), 0)
        previous = [volumes.get((site_id, month_add(month, -k)), 0) for k in (3, 2, 1)]
        surge = stability.surge_check(
            volume, previous, factor=settings.surge_factor,
            min_denominator=settings.min_denominator,
        )  # fmt: skip
        add(site_id, "referral_volume", float(volume), count=True, detail={
            "previous": previous, "baseline": surge.baseline, "assessable": surge.assessable,
            "surge": surge.surge, "surge_factor": settings.surge_factor,
        })  # fmt: skip
        site = workforce.get(site_id)
        caseload = vacancy = max_caseload = None
        if site:
            max_caseload = site["max_caseload"]
            if site["caseload_days"]:
                caseload = site["caseload_sum"] / site["caseload_days"]
                add(site_id, "caseload_mean", caseload, count=True, detail={
                    "max_caseload": max_caseload, "days": site["caseload_days"],
                })  # fmt: skip
                add(site_id, "caseload_above_max", float(site["practitioner_days_above"]),
                    float(site["practitioner_days"]), count=False,
                    detail={"max_caseload": max_caseload})  # fmt: skip
            if site["establishment_days"]:
                vacancy = site["vacancy_sum"] / site["establishment_days"]
                add(site_id, "staffing_gap", site["gap_fte_sum"] / site["establishment_days"],
                    count=True, detail={
                        "establishment_fte": site["establishment_fte_sum"]
                        / site["establishment_days"],
                    })  # fmt: skip
                add(site_id, "vacancy_rate", site["vacancy_sum"],
                    float(site["establishment_days"]), count=False)  # fmt: skip
        reasons = stability.pressure_reasons(
            surge=surge.surge, vacancy_rate=vacancy,
            vacancy_threshold=settings.vacancy_threshold, caseload=caseload,
            max_caseload=max_caseload,
        )  # fmt: skip
        add(site_id, "pressure_month", 1.0 if reasons else 0.0, count=True, detail={
            "reasons": reasons, "vacancy_threshold": settings.vacancy_threshold,
        })  # fmt: skip
        unstable = 0
        for measure in PROCESS_MEASURES:
            for dimension, segment in SPLITS:
                series = []
                for m in window:
                    flag = earlier.get((site_id, m, "pressure_month", "all", "all"))
                    num, den = earlier.get((site_id, m, measure, dimension, segment), (0.0, 0.0))
                    if flag is not None and den:
                        series.append((f"{m:%Y-%m}", bool(flag[0]), num, den))
                num, den = current.get((site_id, measure, dimension, segment), (0.0, 0.0))
                if den:
                    series.append((f"{month:%Y-%m}", bool(reasons), num, den))
                result = stability.stability(
                    series, margin=settings.drift_margin, min_denominator=settings.min_denominator
                )
                unstable += result.verdict == stability.UNSTABLE
                add(site_id, "stability", None, None, count=False, step=measure,
                    dimension=dimension, segment=segment, value=result.difference,
                    detail={**result.as_detail(), "window_months": len(window) + 1})  # fmt: skip
        add(site_id, "unstable_measures", float(unstable), count=True)
    SnapshotValue.objects.bulk_create(values, batch_size=BATCH_SIZE)
    return values
