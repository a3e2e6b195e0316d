"""Chart conventions: one colour per site on every chart, whole-number count axes, no chart
title repeating the heading above it, and equity legends that carry each group's size."""

from types import SimpleNamespace

import pytest

from assurance import charts
from assurance.contracts.charts import term_chart
from assurance.views.dashboards import equity_legend
from scaling_ops import charts as shared_charts
from scaling_ops import tenancy
from scaling_ops.charts import SITE_PALETTE, count_axis, site_colour
from tests.factories import SiteFactory


def site(pk, name):
    return SimpleNamespace(pk=pk, name=name, code=name.lower(), organization_id=0)


NORTH, SOUTH = site(1, "North"), site(2, "South")


@pytest.fixture(autouse=True)
def known_positions(monkeypatch):
    """The chart tests' sites (not stored) hold places 0 and 1 of organisation 0."""
    monkeypatch.setitem(shared_charts._POSITIONS, 0, {1: 0, 2: 1})


def test_sites_of_one_organisation_take_the_palettes_colours_in_turn(personas):
    # The personas' north and south first, then enough sites to use the whole palette: ids need
    # not follow each other (another organisation's sites sit between them).
    others = []
    for number in range(len(SITE_PALETTE) - 2):
        with tenancy.scope(personas.other_org):
            SiteFactory(organization=personas.other_org, code=f"elsewhere{number}")
        with tenancy.scope(personas.org):
            others.append(SiteFactory(organization=personas.org, code=f"extra{number}"))
    sites = [personas.north, personas.south, *others]
    with tenancy.scope(personas.org):
        colours = [site_colour(s) for s in sites]
        assert len(set(colours)) == len(SITE_PALETTE)
        # A site added later takes the next place and moves nobody's colour.
        late = SiteFactory(organization=personas.org, code="late")
        assert [site_colour(s) for s in sites] == colours
        assert site_colour(late) == SITE_PALETTE[0]


def colours_by_name(chart):
    found = {}
    for trace in chart.spec["data"]:
        colour = (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get("color")
        found.setdefault(trace["name"], colour)
    return found


def test_a_site_keeps_one_colour_across_charts():
    assert site_colour(NORTH) != site_colour(SOUTH)
    assert site_colour(NORTH) in SITE_PALETTE
    comparison = charts.site_comparison(
        "c", [("timeliness", "Timeliness")], [SOUTH, NORTH], {(1, "timeliness"): 50.0}, {}
    )
    drift = charts.lines(
        "d", "Timeliness by site", ["2026-03"], {"North": [50.0], "South": [60.0]},
        colours={"North": site_colour(NORTH), "South": site_colour(SOUTH)},
    )  # fmt: skip
    # The order of the sites on a chart does not change their colours.
    assert colours_by_name(comparison)["North"] == colours_by_name(drift)["North"]
    assert colours_by_name(comparison)["South"] == colours_by_name(drift)["South"]


def test_contract_charts_use_the_site_colours():
    term = SimpleNamespace(
        clause="5.1", step="",
        metric=SimpleNamespace(name="Incidents", unit="count", get_unit_display=lambda: "Count"),
    )  # fmt: skip
    row = SimpleNamespace(
        site_id=2, month=__import__("datetime").date(2026, 3, 1), value=3.0, status="met",
        phase="mature", target=4.0, threshold=6.0, partial=False,
    )  # fmt: skip
    chart = term_chart("t", term, [NORTH, SOUTH], [row])
    south = next(t for t in chart.spec["data"] if t["name"] == "South")
    assert south["line"]["color"] == site_colour(SOUTH)  # its markers carry the status
    # A count measure's axis counts in whole numbers.
    assert chart.spec["layout"]["yaxis"]["tickformat"] == ",d"


def test_count_axes_are_whole_numbers():
    assert count_axis([0, 2, 3]) == {
        "title": {"text": "count"}, "rangemode": "tozero", "tickformat": ",d", "dtick": 1,
    }  # fmt: skip
    assert "dtick" not in count_axis([120])
    chart = charts.stacked_counts("i", "Incidents", ["Intake"], {"North": [2.0]})
    assert chart.spec["layout"]["yaxis"]["tickformat"] == ",d"


def test_charts_carry_a_small_template_instead_of_plotlys_default():
    chart = charts.site_comparison("c", [("t", "Timeliness")], [NORTH], {}, {})
    assert chart.spec["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
    assert len(str(chart.spec["layout"]["template"])) < 1000


def test_a_chart_under_a_heading_that_names_it_has_no_title_of_its_own():
    chart = charts.site_comparison("c", [("t", "Timeliness")], [NORTH], {}, {})
    assert chart.spec["layout"]["title"].get("text", "") == ""
    assert chart.title == "Site comparison"  # still its accessible name


def test_equity_legends_carry_the_group_size():
    assert equity_legend("rural", 14.0) == "rural (n=14)"
    assert equity_legend("all", 1203.0) == "overall (n=1,203)"
    assert equity_legend("urban", None) == "urban"


def test_the_equity_page_names_group_sizes_in_its_legends(personas, assured):
    response = personas.client(personas.admin).get(
        f"/o/{personas.org.slug}/assurance/equity/?month=2026-03"
    )
    names = [t["name"] for c in response.context["charts"] for t in c.spec["data"]]
    assert names and all("(n=" in name for name in names), names
