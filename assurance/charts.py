"""Plotly figures built server-side (``fig.to_json()``) and drawn in the page by the vendored
static/js/plotly-basic.min.js. Each function returns a ``Chart`` the template embeds with json_script."""

import plotly.graph_objects as go

from scaling_ops.charts import MEDIAN_COLOUR, Chart, chart_of, count_axis, site_colour

# Series that are not sites (segments, comparators); sites take scaling_ops.charts.site_colour.
PALETTE = ["#1f5f8b", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#2c7a7b", "#c53030"]
BAD = "#c53030"


def _chart(
    chart_id: str,
    title: str,
    figure: go.Figure,
    height: int = 340,
    show_title: bool = True,
    layout: dict | None = None,
) -> Chart:
    return chart_of(
        chart_id, title, figure, height=height, legend_y=-0.2, show_title=show_title,
        layout=layout,
    )  # fmt: skip


def site_comparison(
    chart_id: str, measures: list[tuple[str, str]], sites: list, values: dict, medians: dict
) -> Chart:
    """Grouped bars: one group per measure, one bar per site; the network median as a marker."""
    figure = go.Figure()
    names = [name for _, name in measures]
    for site in sites:
        figure.add_bar(
            name=site.name,
            x=names,
            y=[values.get((site.pk, code)) for code, _ in measures],
            marker_color=site_colour(site),
            hovertemplate="%{x}<br>" + site.name + ": %{y:.1f}%<extra></extra>",
        )
    figure.add_scatter(
        name="Network median",
        x=names,
        y=[medians.get(code) for code, _ in measures],
        mode="markers",
        marker={"symbol": "line-ew-open", "size": 28, "color": MEDIAN_COLOUR, "line": {"width": 3}},
        hovertemplate="%{x}<br>network median: %{y:.1f}%<extra></extra>",
    )
    # The page's heading names it.
    return _chart(
        chart_id, "Site comparison", figure, show_title=False,
        layout={"barmode": "group", "yaxis": {"title": {"text": "%"}, "range": [0, 105]}},
    )  # fmt: skip


def run_chart(chart_id: str, title: str, centre: float | None, points) -> Chart:
    """A p-chart: monthly rates, the centre line p̄ and 3-sigma limits that vary with each
    month's denominator; points outside the limits are marked as special cause."""
    labels = [p.label for p in points]
    figure = go.Figure()
    figure.add_scatter(
        name="Upper control limit",
        x=labels,
        y=[p.upper for p in points],
        mode="lines",
        line={"dash": "dot", "color": "#9aa5b1", "shape": "hvh"},
    )
    figure.add_scatter(
        name="Lower control limit",
        x=labels,
        y=[p.lower for p in points],
        mode="lines",
        line={"dash": "dot", "color": "#9aa5b1", "shape": "hvh"},
    )
    if centre is not None:
        figure.add_scatter(
            name=f"Centre line {centre:.1f}%",
            x=labels,
            y=[centre] * len(labels),
            mode="lines",
            line={"color": "#616e7c"},
        )
    figure.add_scatter(
        name="Monthly rate",
        x=labels,
        y=[p.value for p in points],
        mode="lines+markers",
        line={"color": PALETTE[0], "width": 2},
        marker={
            "size": 9,
            "color": [BAD if p.special_cause else PALETTE[0] for p in points],
        },
        customdata=[[p.numerator, p.denominator] for p in points],
        hovertemplate="%{x}: %{y:.1f}% (%{customdata[0]:.0f}/%{customdata[1]:.0f})<extra></extra>",
    )
    return _chart(
        chart_id, title, figure, height=300,
        layout={"yaxis": {"title": {"text": "%"}, "range": [0, 105]}, "xaxis": {"type": "category"}},
    )  # fmt: skip


def lines(
    chart_id: str,
    title: str,
    labels: list[str],
    series: dict[str, list],
    y_title: str = "%",
    colours: dict[str, str] | None = None,
) -> Chart:
    """``colours``: series name -> colour (sites: their site_colour); others from PALETTE."""
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        figure.add_scatter(
            name=name,
            x=labels,
            y=values,
            mode="lines+markers",
            line={"color": (colours or {}).get(name) or PALETTE[index % len(PALETTE)]},
            connectgaps=False,
        )
    return _chart(
        chart_id, title, figure, height=300,
        layout={"yaxis": {"title": {"text": y_title}}, "xaxis": {"type": "category"}},
    )  # fmt: skip


def stacked_counts(
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list[float]],
    colours: dict[str, str] | None = None,
    show_title: bool = True,
) -> Chart:
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        figure.add_bar(
            name=name,
            x=categories,
            y=values,
            marker_color=(colours or {}).get(name) or PALETTE[index % len(PALETTE)],
        )
    totals = [sum(v or 0 for v in column) for column in zip(*series.values(), strict=True)]
    return _chart(
        chart_id, title, figure, show_title=show_title,
        layout={"barmode": "stack", "yaxis": count_axis(totals)},
    )  # fmt: skip


def grouped_bars(
    chart_id: str,
    title: str,
    categories: list[str],
    series: dict[str, list],
    y_title: str = "%",
    horizontal: bool = False,
) -> Chart:
    figure = go.Figure()
    for index, (name, values) in enumerate(series.items()):
        if horizontal:
            figure.add_bar(
                name=name,
                y=categories,
                x=values,
                orientation="h",
                marker_color=PALETTE[index % len(PALETTE)],
            )
        else:
            figure.add_bar(
                name=name, x=categories, y=values, marker_color=PALETTE[index % len(PALETTE)]
            )
    axis = {"title": {"text": y_title}}
    if horizontal:
        layout = {
            "barmode": "group", "xaxis": axis,
            "yaxis": {"automargin": True, "autorange": "reversed"},
        }  # fmt: skip
    else:
        layout = {"barmode": "group", "yaxis": axis, "xaxis": {"automargin": True}}
    height = max(340, 40 + 28 * len(categories) * len(series)) if horizontal else 340
    return _chart(chart_id, title, figure, height=height, layout=layout)
