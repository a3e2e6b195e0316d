"""Plotly figures built server-side (``fig.to_json()``) and drawn in the page with the vendored
plotly.js: the ``Chart`` a template embeds with json_script, and the layout every app's charts
share (each app keeps its own height and legend position)."""

import json
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

# plotly.py deep-copies its (large) default template into every figure it builds and again on
# ``template=...``: seconds on a page of charts. Figures are built on the empty template and the
# few styles we use ride along in each spec as a small plain dict.
pio.templates.default = "none"
_GRID = "#e4e7eb"
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "xaxis": {
            "gridcolor": _GRID,
            "linecolor": _GRID,
            "zerolinecolor": _GRID,
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": _GRID,
            "linecolor": _GRID,
            "zerolinecolor": _GRID,
            "automargin": True,
        },
    }
}

# The trace types of plotly.js's basic distribution (static/js/plotly-basic.min.js): a chart
# of any other type would draw nothing, so charts keep to these.
BASIC_TRACE_TYPES = {"bar", "scatter", "pie"}


# One colour per site on every chart of every page (assurance, contracts, workforce): a site
# keeps its colour wherever it appears. Status colours are the badges' (met, at risk, breached)
# and are not used for sites.
SITE_PALETTE = (
    "#1f5f8b",
    "#c05621",
    "#6b46c1",
    "#2c7a7b",
    "#b83280",
    "#4a5568",
    "#975a16",
    "#2b6cb0",
)
MEDIAN_COLOUR = "#1f2933"


# Organisation id -> {site id: position among the organisation's sites, oldest first}. A new site
# comes last, so it never moves another site's colour; a site not yet known reloads the list.
_POSITIONS: dict[int, dict[int, int]] = {}


def site_position(site) -> int:
    """The site's place among its organisation's sites (by creation), read once per
    organisation and process: every chart of a page, and every page, agree on it."""
    positions = _POSITIONS.get(site.organization_id)
    if positions is None or site.pk not in positions:
        from scaling_ops.models import Site

        # Colours are for every site of the organisation, whatever the viewer may open: a
        # site's colour must not depend on who looks.
        ids = Site.dangerously_unscoped.filter(organization_id=site.organization_id).order_by("pk")
        positions = {pk: index for index, pk in enumerate(ids.values_list("pk", flat=True))}
        _POSITIONS[site.organization_id] = positions
    return positions.get(site.pk, 0)


def forget_site_positions() -> None:
    """For tests, whose rolled-back rows can hand a new site an id another organisation's
    site had."""
    _POSITIONS.clear()


def site_colour(site) -> str:
    """The site's colour, the same on every chart: by its position in its organisation, so two
    sites of one organisation share a colour only past the palette's length."""
    return SITE_PALETTE[site_position(site) % len(SITE_PALETTE)]


def count_axis(values, title: str = "count") -> dict:
    """A y axis for counts: whole numbers only, from zero (a tick every 1 for small counts)."""
    top = max((v for v in values if v is not None), default=0)
    axis = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if top <= 10:
        axis["dtick"] = 1
    return axis


@dataclass
class Chart:
    id: str
    title: str
    spec: dict

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"


def chart_of(
    chart_id: str,
    title: str,
    figure: go.Figure,
    *,
    height: int,
    legend_y: float,
    show_title: bool = True,
    layout: dict | None = None,
) -> Chart:
    """``show_title=False`` where the page's heading right above already says it (the title
    still names the chart for screen readers). ``layout``: the chart's own layout, merged as
    plain data after the traces are serialised (plotly.py's validating ``update_layout`` costs
    tenths of a second per chart)."""
    spec = json.loads(figure.to_json())
    spec.setdefault("layout", {}).update(
        {
            "title": {"text": title if show_title else "", "x": 0, "font": {"size": 15}},
            "height": height,
            "margin": {"l": 50, "r": 20, "t": 50 if show_title else 20, "b": 50},
            "legend": {"orientation": "h", "y": legend_y},
            "font": {"family": "system-ui, sans-serif", "size": 12},
            **(layout or {}),
        }
    )
    spec["layout"]["template"] = TEMPLATE
    return Chart(chart_id, title, spec)
