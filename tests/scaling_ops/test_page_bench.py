"""The page bench's own honesty (bench/page_ready.py), without a browser: what it calls a
well-served static file, and its verdict against the 1 s goal."""

import sys
from pathlib import Path

from scaling_ops.browser_walk import Visit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import page_ready  # noqa: E402

YEAR = "max-age=315360000, public, immutable"


def test_static_files_must_be_hashed_compressed_and_cached_for_a_year():
    good = Visit(
        "Home", "/", 200,
        static_headers={
            "http://x/static/js/htmx.min.0123456789ab.js": {
                "content-encoding": "gzip", "cache-control": YEAR,
            }
        },
    )  # fmt: skip
    assert page_ready.static_findings([good]) == [
        "1 static files seen",
        "all hashed, compressed, cached",
    ]
    bad = Visit(
        "Home", "/", 200,
        static_headers={"http://x/static/js/htmx.min.js": {"cache-control": "max-age=60"}},
    )  # fmt: skip
    found = page_ready.static_findings([bad])
    assert any("not hashed" in line for line in found)
    assert any("not compressed" in line for line in found)
    assert any("less than a year" in line for line in found)


def test_the_table_marks_a_page_over_the_goal_not_met(monkeypatch):
    from datetime import UTC, datetime

    args = page_ready.parse_args(["--note", "a note"])
    fast = Visit("Home", "/", 200, dom_ms=200, load_ms=250)
    slow = Visit("Assurance", "/", 200, dom_ms=1200, load_ms=1300)
    text = page_ready.table(
        [("lead", fast), ("lead", slow)], ["0 static files seen"], args, datetime.now(UTC), 5.0
    )
    assert "| lead | Home | 200 ms | 250 ms | under 1000 ms | met |" in text
    assert "| lead | Assurance | 1200 ms | 1300 ms | under 1000 ms | **not met** |" in text
    assert "Pages ready within the goal: 1 of 2." in text
