"""Benchmark: the monthly assurance snapshot over ~1M events on PostgreSQL, beside a bare SQL
rollup of the same month (events grouped by site and step), as a ratio. Not part of `make test`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scaling_ops \\
        .venv/bin/python bench/assurance_monthly.py --events 1000000

A scratch database `scaling_ops_bench_assurance` is (re)created at the start of each run and left
for inspection; the table is written to bench/results/assurance.md."""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
BENCH_DB = "scaling_ops_bench_assurance"
EVENTS_PER_CASE = 11.4  # what the demo generator produces with 3-7 contacts per case


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--days", type=int, default=120)
    return parser.parse_args()


def main():
    args = parse_args()
    from run import Figures, bench_organization, setup_django

    setup_django(BENCH_DB)
    from django.db import connection

    from pathways.services import bulk_load
    from pathways.synthetic import Generator, SiteProfile
    from scaling_ops import tenancy

    figures = Figures()
    organization, _, definitions = bench_organization()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    per_day = args.events / EVENTS_PER_CASE / args.days / 4
    profiles = [
        SiteProfile("north", per_day, 0.06, 0.08, language_gap_end=0.04),
        SiteProfile("south", per_day, 0.10, 0.34, missed_share=0.06, language_gap_end=0.22),
        SiteProfile("east", per_day, 0.12, 0.15),
        SiteProfile("west", per_day, 0.08, 0.20, language_gap_end=0.2),
    ]
    with tenancy.scope(organization):
        print(f"Generating ~{args.events:,} events over {args.days} days…", flush=True)
        cases, events = [], []
        for case, case_events in Generator(definitions, profiles, start, end, seed=11).cases():
            cases.append(case)
            events.extend(case_events)
        figures.note("organisation", f"{len(cases):,} cases, {len(events):,} events, 4 sites")
        case_ids = bulk_load.cases_bulk_load(cases=cases)
        for offset in range(0, len(events), 100_000):
            bulk_load.events_bulk_load(events=events[offset : offset + 100_000], case_ids=case_ids)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        snapshot_vs_rollup(figures, organization, end)

    print("\nResults\n" + figures.table())
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "assurance.md").write_text(figures.table() + "\n")
    from django.db import connections

    connections.close_all()


def snapshot_vs_rollup(figures, organization, end) -> None:
    """Computes the last complete month's snapshot of ``organization`` (bound) and the bare SQL
    rollup of the same month, and adds the ratio, peak memory and size to ``figures``. Shared
    with bench/run.py, which measures it on the large organisation of `make bench`."""
    from django.db import connection
    from run import best_of, measured

    from assurance.models import SnapshotValue
    from assurance.services import assurance_snapshot_compute, month_add, month_window

    # The last complete month: the one the monthly job computes.
    month = month_add(end.astimezone(organization.zone).date().replace(day=1), -1)
    with measured(f"assurance snapshot {month:%Y-%m}") as compute:
        snapshots = assurance_snapshot_compute(organization=organization, month=month)
    rows = SnapshotValue.objects.filter(snapshot__in=snapshots).count()
    month_start, month_end = month_window(organization=organization, month=month)
    bare_sql = """
        SELECT c.site_id, e.step_key, e.type, count(*)
        FROM pathways_caseevent e JOIN pathways_case c ON c.id = e.case_id
        WHERE e.organization_id = %s AND e.occurred_at >= %s AND e.occurred_at < %s
        GROUP BY c.site_id, e.step_key, e.type
    """

    def bare_rollup():
        with connection.cursor() as cursor:
            cursor.execute(bare_sql, [organization.pk, month_start, month_end])
            cursor.fetchall()

    figures.ratio(
        "monthly assurance snapshot (all measures, segments, persisted) vs bare SQL rollup",
        compute["seconds"],
        best_of(bare_rollup),
        "s",
        False,
    )
    figures.note("snapshot peak memory growth", f"{compute['peak_mb']:.0f} MB")
    figures.note(
        "snapshot size", f"{len(snapshots)} site snapshots, {rows:,} figures, {month:%Y-%m}"
    )


if __name__ == "__main__":
    main()
