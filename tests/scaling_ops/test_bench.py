"""The bench's own honesty (bench/run.py), without running it: the scratch database is named by
the environment and never DATABASE_URL's own, every figure is printed beside its goal with met or
not met, and the ingest batches carry replays of items already sent."""

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import run as bench  # noqa: E402

from pathways.synthetic import SyntheticEvent  # noqa: E402
from scaling_ops.management.commands.seed_demo import progress_bar  # noqa: E402

URL = "postgres://postgres@127.0.0.1:5432/scaling_ops"


def test_the_scratch_database_is_named_by_the_environment():
    assert bench.scratch_name(URL, {}) == "scaling_ops_bench"
    assert bench.scratch_name(URL, {"BENCH_DATABASE": "mine_bench"}) == "mine_bench"


@pytest.mark.parametrize("name", ["scaling_ops", "Bad-Name", "x; DROP DATABASE y"])
def test_the_scratch_database_is_never_the_apps_own_or_an_odd_name(name):
    with pytest.raises(SystemExit):
        bench.scratch_name(URL, {"BENCH_DATABASE": name})


def test_every_figure_stands_beside_its_goal_with_met_or_not_met():
    figures = bench.Figures()
    figures.ratio("snapshot", 2.0, 1.0, "s", bench.GOALS["snapshot"])
    figures.ratio("full recompute", 0.6, 0.1, "s", bench.GOALS["full"])
    figures.ratio("ingest", 300.0, 1000.0, "events/s", bench.GOALS["ingest"], True)
    figures.note("organisation", "10 cases")
    table = figures.table()
    assert "| snapshot | 2.000 s | 1.000 s | 2.00x | within 3x | met |" in table
    assert "| full recompute | 0.600 s | 0.100 s | 6.00x | within 5x | **not met** |" in table
    assert "at least 0.5x | **not met** |" in table
    assert figures.summary() == "Goals met: 1 of 3. Not met: full recompute; ingest."


def test_ingest_batches_carry_replays_of_the_batch_before():
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        SyntheticEvent(
            id=f"evt-{number}",
            case="N-1",
            type="step_completed" if number % 2 else "risk_tier_changed",
            occurred_at=start + timedelta(minutes=number),
            step="intake" if number % 2 else None,
            data=None if number % 2 else {"risk_tier": "high"},
        )
        for number in range(2500)
    ]
    batches = bench.ingest_batches(events, prefix="h1-")
    assert all(len(batch) <= 1000 for batch in batches)
    assert len(batches[0]) == 900  # nothing to replay yet
    ids = [item["id"] for batch in batches for item in batch]
    assert len(set(ids)) == 2500  # every event is sent
    assert len(ids) - 2500 == 100 * (len(batches) - 1)  # and a tenth of each later batch again
    replayed = batches[1][-100:]
    assert replayed == batches[0][:100]
    assert batches[0][0] == {
        "id": "h1-evt-0",
        "case": "N-1",
        "type": "risk_tier_changed",
        "occurred_at": "2026-11-01T00:00:00+00:00",
        "data": {"risk_tier": "high"},
    }


def test_the_seeding_progress_bar():
    assert progress_bar("daily reports", 0, 91) == "daily reports [" + "." * 30 + "]  0/91"
    assert progress_bar("daily reports", 91, 91) == "daily reports [" + "#" * 30 + "] 91/91"
    assert progress_bar("daily reports", 45, 91).count("#") == 14


def test_each_ingest_run_measures_at_least_twenty_batches():
    assert bench.measured_events(5_000) == 20 * 900
    assert bench.measured_events(50_000) == 50_000
    start = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        SyntheticEvent(
            id=f"evt-{number}", case="N-1", type="contact_made", occurred_at=start, step=None
        )
        for number in range(bench.measured_events(5_000))
    ]
    assert len(bench.ingest_batches(events, prefix="h1-")) == bench.MIN_MEASURED_BATCHES


def test_the_queue_figures_floor_times_a_bare_request_and_the_shell(personas):
    """The floor is taken through every middleware: both requests must be served (200) for a
    logged-in member, the bare one by a path of its own that the project does not serve."""
    from django.test import Client
    from django.urls import Resolver404, resolve
    from queue_figures import _floor_seconds

    client = Client()
    client.force_login(personas.supervisor)
    bare, shell = _floor_seconds(client, personas.org)
    assert bare > 0 and shell > 0
    with pytest.raises(Resolver404):
        resolve("/bench-bare/")
