"""Reads that assemble a month's dashboards and the printable pack from current snapshot values:
aggregates only, over the member's visible sites, in a fixed number of queries."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from assurance import analysis, charts, selectors
from assurance.models import AssuranceSettings
from assurance.services.metrics import PROCESS_MEASURES, month_add
from pathways.selectors.versions import step_names_in_use
from pathways.wording import humanise
from scaling_ops.charts import site_colour
from scaling_ops.models import Membership, Site

HEADLINE_MEASURES = (*PROCESS_MEASURES, "audit_score", "adverse_outcome_rate")
EQUITY_MEASURES = (*PROCESS_MEASURES, "adverse_outcome_rate")
DIMENSION_LABELS = {
    "risk_tier": "Risk tier (at referral)",
    "language_need": "Language need",
    "disability": "Disability",
    "rurality": "Rurality",
    "housing": "Housing",
}


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


def partial_label(to: date | None) -> str:
    """How a month still running is named on every page, chart and CSV: its extent, never a
    verdict (``to``: the organisation-local day its figures run to, when known)."""
    return f"partial (to {to.day} {to:%b %Y})" if to else "partial (month to date)"


def month_title(month: date, partial: dict | None = None) -> str:
    """ "June 2026", or "June 2026, partial (to 10 Jun 2026)" for a month still running."""
    title = f"{month:%B %Y}"
    if partial and month in partial:
        title += ", " + partial_label(partial[month])
    return title


def history_months(month: date, count: int) -> list[date]:
    return [month_add(month, -offset) for offset in range(count - 1, -1, -1)]


@dataclass
class Headline:
    code: str
    name: str
    value: float | None
    previous: float | None
    unit: str
    higher_is_better: bool
    denominator: float
    # Against what the figure is judged: a contract term's target when the member's contracts
    # agree on one, else the organisation's (the metric definition's); None: no target.
    target: float | None = None
    threshold: float | None = None
    target_source: str = ""
    # A month still running is shown, never judged.
    partial: bool = False

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def status(self) -> str | None:
        """met / at_risk / breached against the target; None without a target or a value, or
        for a month still running."""
        if self.partial or self.target is None or self.threshold is None:
            return None
        return analysis.status_against(
            self.value,
            target=self.target,
            threshold=self.threshold,
            higher_is_better=self.higher_is_better,
        )

    @property
    def status_label(self) -> str:
        if self.partial:
            return "In progress, not judged"
        if self.target is None:
            return "No target set"
        return analysis.STATUS_WORDS.get(self.status, "No data")

    @property
    def tone(self) -> str:
        return {"met": "ok", "at_risk": "warn", "breached": "bad"}.get(self.status, "")


@dataclass
class EquityRow:
    site: Site
    measure: str
    measure_name: str
    finding: analysis.EquityFinding

    @property
    def dimension_label(self) -> str:
        return DIMENSION_LABELS.get(self.finding.dimension, self.finding.dimension)


@dataclass
class MonthReport:
    month: date
    sites: list[Site]
    snapshots: list
    definitions: dict
    settings: AssuranceSettings
    headlines: list[Headline] = field(default_factory=list)
    site_rows: list[dict] = field(default_factory=list)
    medians: dict = field(default_factory=dict)
    equity: list[EquityRow] = field(default_factory=list)
    incidents: list[dict] = field(default_factory=list)
    incident_totals: dict = field(default_factory=dict)
    comparators: list[dict] = field(default_factory=list)
    attribution: list[dict] = field(default_factory=list)
    charts: dict = field(default_factory=dict)
    _step_names: dict | None = None

    def step_name(self, key: str) -> str:
        """A stored figure's step key as the pathway names it (read once per report)."""
        if self._step_names is None:
            self._step_names = step_names_in_use()
        return self._step_names.get(key) or humanise(key)

    @property
    def flagged_equity(self) -> list[EquityRow]:
        return [row for row in self.equity if row.finding.flagged]


def month_report(
    *, membership: Membership, month: date, settings: AssuranceSettings, parts=("all",)
) -> MonthReport:
    sites = selectors.sites_for(membership)
    definitions = selectors.metric_definitions()
    report = MonthReport(
        month=month,
        sites=sites,
        snapshots=selectors.current_snapshots(membership=membership, month=month),
        definitions=definitions,
        settings=settings,
    )
    wanted = set(parts)
    everything = "all" in wanted
    if everything or "headline" in wanted:
        _headline(report, membership)
    if everything or "equity" in wanted:
        _equity(report, membership)
    if everything or "incidents" in wanted:
        _incidents(report, membership)
    if everything or "outcomes" in wanted:
        _outcomes(report, membership)
    return report


def _name(report: MonthReport, code: str) -> str:
    definition = report.definitions.get(code)
    return definition.name if definition else code


def _headline(report: MonthReport, membership) -> None:
    from assurance.contracts.selectors import headline_targets

    previous = month_add(report.month, -1)
    contract_targets = headline_targets(
        membership=membership, month=report.month, measures=HEADLINE_MEASURES
    )
    partial = any(s.partial for s in report.snapshots)
    rows = selectors.figures(
        membership=membership, months=[previous, report.month], measures=HEADLINE_MEASURES
    )
    by = defaultdict(list)
    for row in rows:
        by[(row.month, row.measure)].append(row)
    values = {}
    for row in rows:
        if row.month == report.month:
            values[(row.site_id, row.measure)] = row.value
    for code in HEADLINE_MEASURES:
        definition = report.definitions.get(code)
        current = by.get((report.month, code), [])
        target, threshold, source = contract_targets.get(code) or (
            (definition.target, definition.breach_threshold, "organisation's target")
            if definition is not None and definition.target is not None
            else (None, None, "")
        )
        report.headlines.append(
            Headline(
                code,
                _name(report, code),
                selectors.network_value(current),
                selectors.network_value(by.get((previous, code), [])),
                "%",
                definition is None or definition.direction == "higher_is_better",
                selectors.pooled(current)[1],
                target=target,
                threshold=threshold,
                target_source=source,
                partial=partial,
            )
        )
        enough = [
            r.value
            for r in current
            if r.value is not None and (r.denominator or 0) >= report.settings.min_denominator
        ]
        report.medians[code] = analysis.network_median(enough)
    for site in report.sites:
        cells = []
        for code in HEADLINE_MEASURES:
            row = next((r for r in by.get((report.month, code), []) if r.site_id == site.pk), None)
            cells.append(
                {
                    "code": code,
                    "value": row.value if row else None,
                    "numerator": row.numerator if row else None,
                    "denominator": row.denominator if row else None,
                }
            )
        report.site_rows.append({"site": site, "cells": cells})
    shown = [s for s in report.sites if any(c["denominator"] for c in _cells(report, s))]
    report.charts["comparison"] = charts.site_comparison(
        "chart-site-comparison",
        [(code, _name(report, code)) for code in HEADLINE_MEASURES],
        shown,
        values,
        report.medians,
    )


def _cells(report, site):
    for row in report.site_rows:
        if row["site"] == site:
            return row["cells"]
    return []


def equity_rows(
    *, membership, sites, month: date, settings: AssuranceSettings, definitions, measures
) -> list[EquityRow]:
    months = history_months(month, settings.equity_widening_months + 1)
    rows = selectors.figures(
        membership=membership, months=months, measures=measures, steps=[""], dimensions=None
    )
    grouped: dict[tuple, dict] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        if row.dimension in ("baseline", "outcome", "severity"):
            continue
        grouped[(row.site_id, row.measure)][row.month][(row.dimension, row.segment)] = (
            row.numerator or 0.0,
            row.denominator or 0.0,
        )
    result = []
    for site in sites:
        for code in measures:
            series = grouped.get((site.pk, code))
            if not series or month not in series:
                continue
            definition = definitions.get(code)
            findings = analysis.equity_findings(
                [series.get(m, {}) for m in months],
                higher_is_better=definition is None or definition.direction == "higher_is_better",
                margin=settings.equity_margin,
                widening_months=settings.equity_widening_months,
                min_denominator=settings.min_denominator,
            )
            name = definition.name if definition else code
            result.extend(EquityRow(site, code, name, finding) for finding in findings)
    return result


def _equity(report: MonthReport, membership) -> None:
    report.equity = equity_rows(
        membership=membership,
        sites=report.sites,
        month=report.month,
        settings=report.settings,
        definitions=report.definitions,
        measures=EQUITY_MEASURES,
    )


def _incidents(report: MonthReport, membership) -> None:
    rows = selectors.figures(
        membership=membership,
        months=[report.month],
        measures=["incidents", "near_misses"],
        steps=None,
        dimensions=["all"],
    )
    site_names = {s.pk: s.name for s in report.sites}
    table: dict[str, dict] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        if row.step:
            table[row.step][(row.measure, row.site_id)] += row.numerator or 0.0
    steps = sorted(table)
    for step in steps:
        report.incidents.append(
            {
                "step": report.step_name(step),
                "incidents": sum(v for (m, _), v in table[step].items() if m == "incidents"),
                "near_misses": sum(v for (m, _), v in table[step].items() if m == "near_misses"),
            }
        )
    totals = {
        measure: sum(r.numerator or 0.0 for r in rows if r.measure == measure and not r.step)
        for measure in ("incidents", "near_misses")
    }
    report.incident_totals = totals
    if steps:
        series = {}
        for site_id, name in site_names.items():
            counts = [
                table[step].get(("incidents", site_id), 0.0)
                + table[step].get(("near_misses", site_id), 0.0)
                for step in steps
            ]
            if any(counts):
                series[name] = counts
        colours = {s.name: site_colour(s) for s in report.sites}
        report.charts["incidents"] = charts.stacked_counts(
            "chart-incidents",
            "Incidents and near misses by failed step",
            [report.step_name(step) for step in steps],
            series,
            colours=colours,
            show_title=False,  # the page's heading names it
        )


def _outcomes(report: MonthReport, membership) -> None:
    rows = selectors.figures(
        membership=membership,
        months=[report.month],
        measures=["adverse_outcome_rate", "adverse_outcome_rate_adjusted", "outcome_attribution"],
        steps=None,
        dimensions=["all", "baseline", "outcome"],
    )
    sites = {s.pk: s for s in report.sites}
    crude = {
        r.site_id: r
        for r in rows
        if r.measure == "adverse_outcome_rate" and r.dimension == "all" and not r.step
    }
    for r in rows:
        if r.measure != "adverse_outcome_rate_adjusted":
            continue
        detail = r.detail or {}
        site_crude = crude.get(r.site_id)
        report.comparators.append(
            {
                "site": sites.get(r.site_id),
                "baseline": r.segment,
                "kind": detail.get("kind", ""),
                "crude": site_crude.value if site_crude else None,
                "cases": r.denominator,
                "adjusted": r.value,
                "baseline_rate": detail.get("baseline_rate"),
                "ratio": detail.get("ratio"),
                "missing_tiers": detail.get("missing_tiers", []),
            }
        )
    report.comparators.sort(key=lambda c: (c["site"].code if c["site"] else "", c["baseline"]))
    if report.comparators:
        labels = [f"{c['site'].name}<br>{c['baseline']}" for c in report.comparators]
        report.charts["comparators"] = charts.grouped_bars(
            "chart-comparators",
            "Adverse outcome rate, risk-adjusted, against the comparator",
            labels,
            {
                "Site (directly standardised)": [c["adjusted"] for c in report.comparators],
                "Comparator (same standard population)": [
                    c["baseline_rate"] for c in report.comparators
                ],
            },
            horizontal=True,
        )
    pooled: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        if r.measure == "outcome_attribution":
            pooled[(r.step, r.segment)][0] += r.numerator or 0.0
            pooled[(r.step, r.segment)][1] += r.denominator or 0.0
    steps = sorted({step for step, _ in pooled if step})
    for step in ["", *steps]:
        adverse = pooled.get((step, "adverse"), [0.0, 0.0])
        other = pooled.get((step, "other"), [0.0, 0.0])
        adverse_rate, other_rate = analysis.rate(*adverse), analysis.rate(*other)
        report.attribution.append(
            {
                "step": report.step_name(step) if step else "any step",
                "adverse": adverse_rate,
                "adverse_cases": adverse[1],
                "other": other_rate,
                "other_cases": other[1],
                "difference": None
                if adverse_rate is None or other_rate is None
                else adverse_rate - other_rate,
            }
        )
    if steps:
        rows_by_step = report.attribution[1:]
        report.charts["attribution"] = charts.grouped_bars(
            "chart-attribution",
            "Upstream steps missed or late before the outcome",
            [r["step"] for r in rows_by_step],
            {
                "Cases with an adverse outcome": [r["adverse"] for r in rows_by_step],
                "Cases with another outcome": [r["other"] for r in rows_by_step],
            },
            y_title="% of cases",
            horizontal=True,
        )
