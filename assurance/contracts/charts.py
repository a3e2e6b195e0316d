"""Contract charts, built server-side with plotly like assurance/charts.py: one chart per
performance term, each covered site's monthly figure against its phase's target and breach
threshold (the lines step when a site's phase changes)."""

import plotly.graph_objects as go

from assurance.charts import Chart, _chart
from assurance.contracts.models import TermEvaluation
from assurance.models import MetricDefinition
from assurance.reports import partial_label
from scaling_ops.charts import count_axis, site_colour

STATUS_COLOURS = {
    TermEvaluation.Status.MET: "#2f855a",
    TermEvaluation.Status.AT_RISK: "#b7791f",
    TermEvaluation.Status.BREACHED: "#c53030",
    TermEvaluation.Status.NO_DATA: "#9aa5b1",
    TermEvaluation.Status.IN_PROGRESS: "#ffffff",
}


def term_chart(chart_id: str, term, sites, rows, partial: dict | None = None) -> Chart:
    """``rows``: the term's EvaluationRows for ``sites``, oldest month first; ``partial``: month
    -> the day a month still running has figures to (its point has no status colour)."""
    partial = partial or {}
    figure = go.Figure()
    percent = term.metric.unit == MetricDefinition.Unit.PERCENT
    suffix = "%" if percent else ""
    for site in sites:
        colour = site_colour(site)
        mine = [r for r in rows if r.site_id == site.pk]
        if not mine:
            continue
        labels = [r.month.strftime("%Y-%m") for r in mine]
        figure.add_scatter(
            name=site.name,
            legendgroup=site.code,
            x=labels,
            y=[r.value for r in mine],
            mode="lines+markers",
            line={"color": colour, "width": 2},
            marker={
                "size": 11,
                "color": [STATUS_COLOURS[r.status] for r in mine],
                "line": {"color": colour, "width": 2},
            },
            customdata=[
                [
                    TermEvaluation.Status(r.status).label,
                    r.phase,
                    r.target,
                    r.threshold,
                    f", {partial_label(partial.get(r.month))}" if r.partial else "",
                ]
                for r in mine
            ],  # fmt: skip
            hovertemplate=f"{site.name} %{{x}}: %{{y:.1f}}{suffix}%{{customdata[4]}}<br>"
            "%{customdata[0]} (%{customdata[1]}: target %{customdata[2]}, "
            "threshold %{customdata[3]})<extra></extra>",
        )
        figure.add_scatter(
            name=f"{site.name} target",
            legendgroup=site.code,
            showlegend=False,
            x=labels,
            y=[r.target for r in mine],
            mode="lines",
            line={"color": colour, "dash": "dot", "shape": "hvh", "width": 1},
            hovertemplate=f"{site.name} target %{{y}}{suffix}<extra></extra>",
        )
        figure.add_scatter(
            name=f"{site.name} breach threshold",
            legendgroup=site.code,
            showlegend=False,
            x=labels,
            y=[r.threshold for r in mine],
            mode="lines",
            line={"color": colour, "dash": "dash", "shape": "hvh", "width": 1},
            hovertemplate=f"{site.name} breach threshold %{{y}}{suffix}<extra></extra>",
        )
    if percent:
        axis = {"title": term.metric.get_unit_display(), "range": [0, 105]}
    else:
        shown = [r.value for r in rows] + [r.target for r in rows] + [r.threshold for r in rows]
        axis = count_axis(shown, term.metric.get_unit_display())
    figure.update_layout(yaxis=axis, xaxis={"type": "category"})
    step = f" ({term.step})" if term.step else ""
    title = f"{term.clause} {term.metric.name}{step}: dotted target, dashed breach threshold"
    return _chart(chart_id, title, figure, height=320)
