"""Plotly figures built server-side (``fig.to_json()``), drawn by static/js/workforce-charts.js."""

import plotly.graph_objects as go

from scaling_ops.charts import Chart, chart_of, count_axis
from workforce.models import CheckKind

PALETTE = ["#c53030", "#c05621", "#6b46c1", "#1f5f8b", "#2f855a"]


def _chart(chart_id: str, title: str, figure: go.Figure, height: int = 320) -> Chart:
    return chart_of(chart_id, title, figure, height=height, legend_y=-0.25)


def check_trends(chart_id: str, series: dict[str, list]) -> Chart | None:
    """Failing subjects per day, one line per integrity check."""
    if not any(series.values()):
        return None
    figure = go.Figure()
    for index, (kind, label) in enumerate(CheckKind.choices):
        points = series.get(kind, [])
        figure.add_scatter(
            name=label,
            x=[day.isoformat() for day, _, _ in points],
            y=[failing for _, failing, _ in points],
            customdata=[checked for _, _, checked in points],
            mode="lines+markers",
            line={"color": PALETTE[index % len(PALETTE)], "shape": "hv"},
            hovertemplate="%{x}<br>" + label + ": %{y} failing of %{customdata}<extra></extra>",
        )
    counts = [failing for points in series.values() for _, failing, _ in points]
    figure.update_layout(yaxis=count_axis(counts, "failing"))
    return _chart(chart_id, "Workforce integrity: failing checks per day", figure)


def skill_mix(chart_id: str, teams: list[dict], minimum: float) -> Chart | None:
    rows = [t for t in teams if t["share"] is not None]
    if not rows:
        return None
    figure = go.Figure()
    figure.add_bar(
        name="Experienced share",
        x=[t["team"].name for t in rows],
        y=[round(100 * t["share"], 1) for t in rows],
        marker_color=["#c53030" if t["share"] < minimum - 1e-9 else "#2f855a" for t in rows],
        hovertemplate="%{x}: %{y:.0f}% experienced<extra></extra>",
    )
    figure.add_hline(y=100 * minimum, line_dash="dot", annotation_text="minimum")
    figure.update_layout(yaxis={"title": "% experienced", "range": [0, 105]}, showlegend=False)
    return _chart(chart_id, "Skill mix per team", figure, height=280)
