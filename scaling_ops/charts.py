"""Plotly figures built server-side (``fig.to_json()``) and drawn in the page with the vendored
plotly.js: the ``Chart`` a template embeds with json_script, and the layout every app's charts
share (each app keeps its own height and legend position)."""

import json
from dataclasses import dataclass

import plotly.graph_objects as go

# The trace types of plotly.js's basic distribution (static/js/plotly-basic.min.js): a chart
# of any other type would draw nothing, so charts keep to these.
BASIC_TRACE_TYPES = {"bar", "scatter", "pie"}


@dataclass
class Chart:
    id: str
    title: str
    spec: dict

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


def chart_of(
    chart_id: str, title: str, figure: go.Figure, *, height: int, legend_y: float
) -> Chart:
    figure.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 50, "r": 20, "t": 50, "b": 50},
        legend={"orientation": "h", "y": legend_y},
        font={"family": "system-ui, sans-serif", "size": 12},
    )
    return Chart(chart_id, title, json.loads(figure.to_json()))
