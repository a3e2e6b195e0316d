"""What the "Stability under pressure" page, its CSV and the monthly pack show (DESIGN.md
section 4a), and the commissioners' workforce evidence. Read-only: the stability figures are
the stored snapshot values of the member's sites (one query for the month's verdicts, one for
the window's monthly figures); workforce evidence comes through pathways' ``workforce_evidence``
point, so assurance never imports workforce. Aggregates only: no case, no person, no team."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import plotly.graph_objects as go
from django.utils import timezone

from assurance import selectors, stability
from assurance.models import AssuranceSettings
from assurance.reports import history_months, month_label
from assurance.services.metrics import BUILTIN_METRICS, PROCESS_MEASURES, month_add
from pathways.extension_points import workforce_evidence
from scaling_ops.charts import Chart, chart_of
from scaling_ops.models import Membership

SPLIT_LABELS = {("all", "all"): "All cases", ("risk_tier", "high"): "High-risk cases"}
PRESSURE_MEASURES = (
    "pressure_month", "referral_volume", "vacancy_rate", "staffing_gap", "caseload_mean",
    "caseload_above_max",
)  # fmt: skip
SHADE = "rgba(192, 86, 33, 0.15)"


@dataclass
class VerdictRow:
    site: object
    measure: str
    measure_name: str
    split: str
    verdict: str
    pressure: dict
    other: dict
    difference: float | None

    @property
    def verdict_label(self) -> str:
        return stability.VERDICT_LABELS.get(self.verdict, self.verdict)


@dataclass
class MonthRow:
    month: date
    pressure: bool | None
    reasons: list[str]
    figures: dict  # measure -> value

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def reason_labels(self) -> list[str]:
        return [stability.REASON_LABELS.get(r, r) for r in self.reasons]


@dataclass
class SitePanel:
    site: object
    months: list[MonthRow]
    verdicts: list[VerdictRow]
    charts: list[Chart] = field(default_factory=list)


@dataclass
class StabilityReport:
    month: date
    window: list[date]
    panels: list[SitePanel]
    definitions: dict

    @property
    def rows(self) -> list[VerdictRow]:
        return [row for panel in self.panels for row in panel.verdicts]

    @property
    def charts(self) -> list[Chart]:
        return [chart for panel in self.panels for chart in panel.charts]

    @property
    def unstable(self) -> list[VerdictRow]:
        return [row for row in self.rows if row.verdict == stability.UNSTABLE]


def _name(definitions, code: str) -> str:
    """The organisation's name for the measure, else the built-in one (an organisation whose
    definitions predate a built-in measure still reads words)."""
    if code in definitions:
        return definitions[code].name
    return next((metric.name for metric in BUILTIN_METRICS if metric.code == code), code)


def stability_report(
    *, membership: Membership, month: date, settings: AssuranceSettings, site_code: str = "",
    charts: bool = True,
) -> StabilityReport:  # fmt: skip
    definitions = selectors.metric_definitions()
    sites = [s for s in selectors.sites_for(membership) if not site_code or s.code == site_code]
    window = sorted(history_months(month, settings.stability_window_months))
    site_ids = [s.pk for s in sites]
    verdicts = selectors.figures(
        membership=membership, months=[month], measures=["stability"], steps=None,
        dimensions=["all", "risk_tier"], site_ids=site_ids,
    )  # fmt: skip
    monthly = selectors.figures(
        membership=membership, months=window,
        measures=[*PROCESS_MEASURES, *PRESSURE_MEASURES], steps=[""],
        dimensions=["all", "risk_tier"], site_ids=site_ids,
    )  # fmt: skip
    by_site = defaultdict(lambda: defaultdict(dict))
    for row in monthly:
        if (row.dimension, row.segment) in SPLIT_LABELS:
            by_site[row.site_id][row.month][(row.measure, row.dimension, row.segment)] = row
    verdict_rows = defaultdict(list)
    for row in verdicts:
        split = (row.dimension, row.segment)
        if split not in SPLIT_LABELS or row.step not in PROCESS_MEASURES:
            continue
        detail = row.detail or {}
        verdict_rows[row.site_id].append(
            VerdictRow(
                site=None, measure=row.step, measure_name=_name(definitions, row.step),
                split=SPLIT_LABELS[split], verdict=detail.get("verdict", ""),
                pressure=detail.get("pressure", {}), other=detail.get("other", {}),
                difference=detail.get("difference"),
            )
        )  # fmt: skip
    panels = []
    for site in sites:
        months_seen = by_site.get(site.pk, {})
        rows = []
        for m in window:
            figures = months_seen.get(m, {})
            flag = figures.get(("pressure_month", "all", "all"))
            rows.append(
                MonthRow(
                    month=m,
                    pressure=None if flag is None else bool(flag.numerator),
                    reasons=list((flag.detail or {}).get("reasons", [])) if flag else [],
                    figures={
                        code: figures[(code, "all", "all")].value
                        for code in PRESSURE_MEASURES
                        if (code, "all", "all") in figures
                    },
                )
            )
        order = {code: i for i, code in enumerate(PROCESS_MEASURES)}
        site_verdicts = sorted(
            verdict_rows.get(site.pk, []), key=lambda r: (order.get(r.measure, 99), r.split)
        )
        for row in site_verdicts:
            row.site = site
        if not site_verdicts and not any(r.pressure is not None for r in rows):
            continue
        panel = SitePanel(site=site, months=rows, verdicts=site_verdicts)
        if charts:
            panel.charts = [
                _chart(site, code, _name(definitions, code), rows, months_seen, site_verdicts)
                for code in PROCESS_MEASURES
            ]
        panels.append(panel)
    return StabilityReport(month=month, window=window, panels=panels, definitions=definitions)


def _chart(site, code, name, rows: list[MonthRow], figures, verdicts) -> Chart:
    """Rate by month with the pressure months shaded and the two pooled rates as lines."""
    labels = [r.label for r in rows]
    values = []
    for r in rows:
        found = figures.get(r.month, {}).get((code, "all", "all"))
        values.append(found.value if found else None)
    figure = go.Figure()
    for r in rows:
        if r.pressure:
            figure.add_vrect(
                x0=labels.index(r.label) - 0.5, x1=labels.index(r.label) + 0.5,
                fillcolor=SHADE, line_width=0, layer="below",
            )  # fmt: skip
    figure.add_scatter(
        name="Monthly rate", x=labels, y=values, mode="lines+markers",
        line={"color": "#1f5f8b", "width": 2}, connectgaps=False,
        hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
    )  # fmt: skip
    overall = next((v for v in verdicts if v.measure == code and v.split == "All cases"), None)
    if overall:
        for side, label, colour in (
            (overall.pressure, "Pooled rate, pressure months", "#c05621"),
            (overall.other, "Pooled rate, other months", "#2f855a"),
        ):
            if side.get("rate") is not None:
                figure.add_scatter(
                    name=f"{label} {side['rate']:.1f}%", x=labels, y=[side["rate"]] * len(labels),
                    mode="lines", line={"color": colour, "dash": "dash"},
                )  # fmt: skip
    figure.update_layout(
        yaxis={"title": "%", "range": [0, 105]},
        xaxis={"type": "category"},
    )
    return chart_of(
        f"chart-stability-{site.code}-{code}".replace("_", "-"),
        f"{site.name}: {name} (pressure months shaded)",
        figure, height=320, legend_y=-0.3,
    )  # fmt: skip


# --- workforce evidence for commissioners -------------------------------------------------------


@dataclass
class EvidenceSite:
    site: object
    rows: list[dict]


def evidence_day(*, membership: Membership, month: date) -> date:
    """The last day of ``month``, or today when the month is still running."""
    today = timezone.localdate(timezone=membership.organization.zone)
    return min(month_add(month, 1) - timedelta(days=1), today)


def workforce_evidence_report(
    *, membership: Membership, day: date, site_ids=None
) -> list[EvidenceSite]:
    sites = selectors.sites_for(membership)
    if site_ids is not None:
        sites = [s for s in sites if s.pk in set(site_ids)]
    providers = workforce_evidence.providers()
    if not providers or not sites:
        return []
    found = providers[0](site_ids=[s.pk for s in sites], day=day, zone=membership.organization.zone)
    return [EvidenceSite(site=s, rows=found.get(s.pk, [])) for s in sites]


def evidence_table(evidence: list[EvidenceSite]) -> list[tuple[str, list[dict]]]:
    """Rows of (measure label, one cell per site in ``evidence`` order)."""
    if not evidence:
        return []
    return [
        (row["label"], [item.rows[index] if index < len(item.rows) else {} for item in evidence])
        for index, row in enumerate(evidence[0].rows)
    ]


def pack_pressure_context(membership: Membership, month: date, settings) -> dict:
    """What the monthly pack adds for section 4a: the stability report and workforce evidence."""
    day = evidence_day(membership=membership, month=month)
    evidence = workforce_evidence_report(membership=membership, day=day)
    return {
        "stability": stability_report(membership=membership, month=month, settings=settings),
        "evidence": evidence,
        "evidence_rows": evidence_table(evidence),
        "day": day,
    }
