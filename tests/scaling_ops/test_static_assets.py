"""The chart bundle: plotly.js's basic distribution, vendored, loaded only where a page draws."""

import re
from pathlib import Path

from django.conf import settings

STATIC = Path(settings.BASE_DIR) / "static" / "js"


def test_the_vendored_plotly_is_the_basic_distribution():
    bundle = STATIC / "plotly-basic.min.js"
    assert "plotly.js (basic - minified)" in bundle.read_text(encoding="utf-8")[:200]
    assert bundle.stat().st_size < 1_500_000
    assert not (STATIC / "plotly.min.js").exists()


def test_a_page_without_charts_loads_no_plotly(personas):
    body = personas.client(personas.lead).get("/o/acme/").content.decode()
    assert "plotly" not in body
    assert "charts.js" not in body


def test_the_charts_use_only_trace_types_of_the_basic_distribution():
    from scaling_ops.charts import BASIC_TRACE_TYPES

    layout_helpers = {"hline", "vline", "hrect", "vrect", "shape", "annotation"}
    names = set()
    for module in ("assurance/charts.py", "assurance/contracts/charts.py", "workforce/charts.py"):
        text = (Path(settings.BASE_DIR) / module).read_text(encoding="utf-8")
        names |= set(re.findall(r"\.add_(\w+)\(", text)) - layout_helpers
    assert names and names <= BASIC_TRACE_TYPES, names - BASIC_TRACE_TYPES
