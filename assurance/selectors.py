"""Reads of the assurance app. Everything a page shows is narrowed to the member's visible
sites (commissioners: the sites they hold ``access_site`` on), and only the latest revision of
each (site, month) snapshot counts as current; older revisions stay readable as evidence."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

from assurance import analysis, front_door
from assurance.models import (
    AssuranceSnapshot,
    AuditRecord,
    AuditSample,
    ComparatorBaseline,
    DriftSignal,
    Incident,
    MetricDefinition,
    SnapshotValue,
)
from scaling_ops.models import Membership, Site
from scaling_ops.selectors import visible_sites

PAGE_SIZE = 50
RUN_CHART_MONTHS = 12


def current_snapshot_ids(*, months=None, site_ids=None) -> QuerySet:
    """Ids of the latest revision of each (site, month), as a subquery-friendly queryset."""
    snapshots = AssuranceSnapshot.objects.all()
    if months is not None:
        snapshots = snapshots.filter(month__in=list(months))
    if site_ids is not None:
        snapshots = snapshots.filter(site_id__in=site_ids)
    newer = AssuranceSnapshot.objects.filter(
        site_id=OuterRef("site_id"), month=OuterRef("month"), revision__gt=OuterRef("revision")
    )
    return snapshots.filter(~Exists(newer)).values("pk")


def _site_ids(membership: Membership):
    return Subquery(visible_sites(membership).values("pk"))


def sites_for(membership: Membership) -> list[Site]:
    return list(visible_sites(membership).order_by("code"))


def metric_definitions() -> dict[str, MetricDefinition]:
    return {m.code: m for m in MetricDefinition.objects.order_by("order", "code")}


def snapshot_months(*, membership: Membership) -> list[date]:
    """Months with a snapshot of any of the member's sites, newest first."""
    return list(
        AssuranceSnapshot.objects.filter(site_id__in=_site_ids(membership))
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )


def latest_complete_month(*, membership: Membership) -> date | None:
    """The newest month computed after it ended: what a monthly review looks at first."""
    return (
        AssuranceSnapshot.objects.filter(site_id__in=_site_ids(membership), partial=False)
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )


def partial_months(*, site_ids, zone, months=None) -> dict[date, date]:
    """Month -> the organisation-local day its figures run to, for each month whose current
    snapshot at any of the sites was computed before the month ended."""
    cutoffs = (
        AssuranceSnapshot.objects.filter(
            pk__in=current_snapshot_ids(months=months, site_ids=site_ids), partial=True
        )
        .values_list("month", "cutoff")
        .order_by("month", "cutoff")
    )
    # The earliest cutoff: the figures of every site run at least that far.
    found: dict[date, date] = {}
    for month, cutoff in cutoffs:
        found.setdefault(month, timezone.localdate(cutoff, timezone=zone))
    return found


def partial_months_for(membership: Membership, months=None) -> dict[date, date]:
    return partial_months(
        site_ids=_site_ids(membership), zone=membership.organization.zone, months=months
    )


def current_snapshots(*, membership: Membership, month: date) -> list[AssuranceSnapshot]:
    return list(
        AssuranceSnapshot.objects.filter(
            pk__in=current_snapshot_ids(months=[month], site_ids=_site_ids(membership))
        )
        .select_related("site", "computed_by")
        .order_by("site__code")
    )


@dataclass
class Figure:
    site_id: int | None
    month: date
    measure: str
    step: str
    dimension: str
    segment: str
    numerator: float
    denominator: float | None
    value: float | None
    detail: dict


def figures(
    *,
    membership: Membership,
    months,
    measures=None,
    steps=("",),
    dimensions=("all",),
    site_ids=None,
) -> list[Figure]:
    """Current figures of the member's sites: one query however many sites and months."""
    sites = _site_ids(membership) if site_ids is None else site_ids
    values = SnapshotValue.objects.filter(
        snapshot_id__in=current_snapshot_ids(months=months, site_ids=sites)
    )
    if site_ids is not None:
        values = values.filter(snapshot__site_id__in=_site_ids(membership))
    if measures is not None:
        values = values.filter(measure__in=list(measures))
    if steps is not None:
        values = values.filter(step__in=list(steps))
    if dimensions is not None:
        values = values.filter(dimension__in=list(dimensions))
    return [
        Figure(*row)
        for row in values.order_by("snapshot__month", "snapshot__site__code").values_list(
            "snapshot__site_id",
            "snapshot__month",
            "measure",
            "step",
            "dimension",
            "segment",
            "numerator",
            "denominator",
            "value",
            "detail",
        )
    ]


def pooled(rows: list[Figure]) -> tuple[float, float]:
    """Σ numerator, Σ denominator: the network figure over the rows' sites."""
    return (
        sum(r.numerator or 0.0 for r in rows),
        sum(r.denominator or 0.0 for r in rows),
    )


def network_value(rows: list[Figure], count: bool = False) -> float | None:
    num, den = pooled(rows)
    return analysis.measure_value(num, den, count=count)


def run_chart_series(
    *, membership: Membership, site: Site, measure: str, step: str, months: list[date]
) -> list[tuple[str, float, float]]:
    rows = {
        r.month: r
        for r in figures(
            membership=membership,
            months=months,
            measures=[measure],
            steps=[step],
            site_ids=[site.pk],
        )
    }
    return [
        (
            month.strftime("%Y-%m"),
            rows[month].numerator if month in rows else 0.0,
            (rows[month].denominator or 0.0) if month in rows else 0.0,
        )
        for month in sorted(months)
    ]


def equity_months(
    *, membership: Membership, site: Site, measure: str, months: list[date]
) -> list[dict[tuple[str, str], tuple[float, float]]]:
    """Per month (oldest first): (dimension, segment) -> (numerator, denominator), overall first."""
    by_month: dict[date, dict] = defaultdict(dict)
    for row in figures(
        membership=membership,
        months=months,
        measures=[measure],
        steps=[""],
        dimensions=None,
        site_ids=[site.pk],
    ):
        if row.dimension in ("baseline", "outcome", "severity"):
            continue
        by_month[row.month][(row.dimension, row.segment)] = (
            row.numerator or 0.0,
            row.denominator or 0.0,
        )
    return [by_month.get(month, {}) for month in sorted(months)]


def drift_signals(
    *, membership: Membership, site: str = "", status: str = "", measure: str = ""
) -> QuerySet[DriftSignal]:
    signals = DriftSignal.objects.filter(site_id__in=_site_ids(membership)).select_related(
        "site", "snapshot", "reaudit_snapshot"
    )
    if site:
        signals = signals.filter(site__code=site)
    if status == "active":
        signals = signals.exclude(status=DriftSignal.Status.WITHDRAWN)
    elif status:
        signals = signals.filter(status=status)
    if measure:
        signals = signals.filter(measure=measure)
    return signals.order_by("-month", "site__code", "measure", "basis")


def drift_signal_for_member(*, membership: Membership, pk: int) -> DriftSignal | None:
    return drift_signals(membership=membership).filter(pk=pk).first()


def snapshot_list(
    *, membership: Membership, site: str = "", month: date | None = None
) -> QuerySet[AssuranceSnapshot]:
    snapshots = (
        AssuranceSnapshot.objects.filter(site_id__in=_site_ids(membership))
        .select_related("site", "computed_by")
        .annotate(value_count=Count("values"))
    )
    if site:
        snapshots = snapshots.filter(site__code=site)
    if month:
        snapshots = snapshots.filter(month=month)
    newer = AssuranceSnapshot.objects.filter(
        site_id=OuterRef("site_id"), month=OuterRef("month"), revision__gt=OuterRef("revision")
    )
    return snapshots.annotate(superseded=Exists(newer)).order_by(
        "-month", "site__code", "-revision"
    )


def snapshot_for_member(*, membership: Membership, pk: int) -> AssuranceSnapshot | None:
    return snapshot_list(membership=membership).filter(pk=pk).first()


def snapshot_values(
    *,
    snapshot: AssuranceSnapshot,
    measure: str = "",
    dimension: str = "",
    membership: Membership | None = None,
) -> QuerySet[SnapshotValue]:
    values = snapshot.values.all()
    if membership is not None:
        values = values.exclude(dimension__in=front_door.withheld_dimensions(membership))
    if measure:
        values = values.filter(measure=measure)
    if dimension:
        values = values.filter(dimension=dimension)
    return values.order_by("measure", "step", "dimension", "segment")


def values_for_export(*, membership: Membership, months=None, current_only: bool = True):
    """Rows for the CSV export: aggregates only (no case appears in a snapshot)."""
    values = SnapshotValue.objects.filter(snapshot__site_id__in=_site_ids(membership)).exclude(
        dimension__in=front_door.withheld_dimensions(membership)
    )
    if current_only:
        values = values.filter(snapshot_id__in=current_snapshot_ids(months=months))
    elif months is not None:
        values = values.filter(snapshot__month__in=list(months))
    return values.order_by(
        "snapshot__month",
        "snapshot__site__code",
        "snapshot__revision",
        "measure",
        "step",
        "dimension",
        "segment",
    ).values_list(
        "snapshot__month",
        "snapshot__site__name",
        "snapshot__revision",
        "snapshot__partial",
        "snapshot__cutoff",
        "measure",
        "step",
        "dimension",
        "segment",
        "numerator",
        "denominator",
        "value",
    )


# --- records (write roles only: these carry case refs) --------------------------------------


def audit_samples(*, membership: Membership, site: str = "", month: date | None = None):
    samples = (
        AuditSample.objects.filter(site_id__in=_site_ids(membership))
        .select_related("site", "drawn_by")
        .annotate(
            record_count=Count("records", distinct=True),
        )
    )
    done = AuditRecord.objects.filter(sample_id=OuterRef("pk"), audited_at__isnull=False)
    samples = samples.annotate(
        done_count=Subquery(
            done.order_by().values("sample_id").annotate(n=Count("id")).values("n")[:1]
        )
    )
    if site:
        samples = samples.filter(site__code=site)
    if month:
        samples = samples.filter(month=month)
    return samples.order_by("-month", "site__code", "kind")


def audit_sample_for_member(*, membership: Membership, pk: int) -> AuditSample | None:
    return (
        AuditSample.objects.filter(site_id__in=_site_ids(membership), pk=pk)
        .select_related("site", "drawn_by")
        .prefetch_related(
            Prefetch(
                "records",
                queryset=AuditRecord.objects.select_related("case", "auditor").order_by("position"),
            )
        )
        .first()
    )


def audit_record_for_member(*, membership: Membership, pk: int) -> AuditRecord | None:
    return (
        AuditRecord.objects.filter(sample__site_id__in=_site_ids(membership), pk=pk)
        .select_related("sample", "sample__site", "case")
        .first()
    )


def incidents(
    *,
    membership: Membership,
    site: str = "",
    kind: str = "",
    severity: str = "",
    review_status: str = "",
    step: str = "",
) -> QuerySet[Incident]:
    found = Incident.objects.filter(site_id__in=_site_ids(membership)).select_related(
        "site", "case", "reported_by"
    )
    if site:
        found = found.filter(site__code=site)
    if kind:
        found = found.filter(kind=kind)
    if severity:
        found = found.filter(severity=severity)
    if review_status:
        found = found.filter(review_status=review_status)
    if step:
        # JSON containment is not portable to SQLite; the list is short, so match the text.
        found = found.filter(failed_steps__icontains=f'"{step}"')
    return found.order_by("-occurred_at", "-id")


def incident_for_member(*, membership: Membership, pk: int) -> Incident | None:
    return incidents(membership=membership).filter(pk=pk).first()


def baselines() -> QuerySet[ComparatorBaseline]:
    return (
        ComparatorBaseline.objects.select_related("site").prefetch_related("rates").order_by("name")
    )


def settings_current():
    """The organisation's settings, or the defaults (unsaved) when none were stored yet: a read
    never writes."""
    from assurance.models import AssuranceSettings

    return AssuranceSettings.objects.first() or AssuranceSettings()
