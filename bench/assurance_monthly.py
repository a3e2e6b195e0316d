"""Benchmark: the monthly assurance snapshot on PostgreSQL, beside a bare SQL rollup of the
month's obligations by site x step (obligations due in the month: met, late, overdue), as a
ratio against its goal. ``snapshot_vs_rollup`` is what `make bench` (bench/run.py) measures on its
large organisation; run alone, this script builds a smaller one of its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scaling_ops \\
        .venv/bin/python bench/assurance_monthly.py --events 1000000

The scratch database is named by BENCH_DATABASE (default: DATABASE_URL's database +
``_bench_assurance``), dropped at the end unless ``--keep``; the table is written to
bench/results/assurance.md."""

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
EVENTS_PER_CASE = 11.4  # what the demo generator produces with 3-7 contacts per case


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to generate")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    return parser.parse_args()


def main():
    args = parse_args()
    from run import drop_database, scratch_name, setup_django

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: set DATABASE_URL to a PostgreSQL server")
    environ = {"BENCH_DATABASE": os.environ.get("BENCH_DATABASE", "")}
    environ["BENCH_DATABASE"] = environ["BENCH_DATABASE"] or scratch_name(url, {}) + "_assurance"
    name = scratch_name(url, environ)
    setup_django(name, url)
    try:
        measure(args)
    finally:
        if not args.keep:
            drop_database(name, url)


def measure(args):
    from run import Figures, analyze, bench_organization, site_profiles

    from pathways.services import bulk_load
    from pathways.synthetic import Generator
    from scaling_ops import tenancy

    figures = Figures()
    organization, _, definitions = bench_organization()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    per_day = args.events / EVENTS_PER_CASE / args.days / 4
    with tenancy.scope(organization):
        print(f"Generating ~{args.events:,} events over {args.days} days…", flush=True)
        cases, events = [], []
        generator = Generator(definitions, site_profiles(per_day), start, end, seed=11)
        for case, case_events in generator.cases():
            cases.append(case)
            events.extend(case_events)
        figures.note("organisation", f"{len(cases):,} cases, {len(events):,} events, 4 sites")
        case_ids = bulk_load.cases_bulk_load(cases=cases)
        for offset in range(0, len(events), 100_000):
            bulk_load.events_bulk_load(events=events[offset : offset + 100_000], case_ids=case_ids)
        analyze()
        snapshot_vs_rollup(figures, organization, end)

    print("\nResults\n" + figures.table())
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "assurance.md").write_text(figures.table() + "\n")


# The month's obligations in bare SQL, by site x step: every referral- and step-anchored time
# standard due in the month (by the cutoff), met (completed by its due), late (completed after)
# or overdue (not completed by the cutoff). It ignores what the engine adds (tiers at the
# anchor, closures, assessment completeness, missed-contact anchors, escalation rules) and every
# measure but timeliness (segments, touchpoints, assessments, outcomes, attribution, audits,
# incidents, comparators, drift, persistence), which is what the ratio prices.
BARE_MONTH_SQL = """
    WITH done AS (
        SELECT case_id, step_key, min(occurred_at) AS at FROM pathways_caseevent
        WHERE organization_id = %(org)s AND type = 'step_completed' AND occurred_at <= %(cutoff)s
        GROUP BY case_id, step_key
    ), due AS (
        SELECT c.site_id, s.key AS step, completed.at AS completed_at,
               coalesce(anchor.at, c.referral_at) + t.within_hours * interval '1 hour' AS due_at
        FROM pathways_case c
        JOIN pathways_step s ON s.version_id = c.version_id
        JOIN pathways_timestandard t ON t.step_id = s.id
            AND (t.anchor = 'referral' OR t.anchor LIKE 'step:%%')
        LEFT JOIN done anchor ON t.anchor <> 'referral' AND anchor.case_id = c.id
            AND anchor.step_key = substr(t.anchor, 6)
        LEFT JOIN done completed ON completed.case_id = c.id AND completed.step_key = s.key
        WHERE c.organization_id = %(org)s AND c.referral_at <= %(cutoff)s
          AND (t.anchor = 'referral' OR anchor.at IS NOT NULL)
    )
    SELECT site_id, step,
           CASE WHEN completed_at <= due_at THEN 'met'
                WHEN completed_at IS NOT NULL THEN 'late' ELSE 'overdue' END AS status,
           count(*)
    FROM due
    WHERE due_at >= %(start)s AND due_at < %(end)s AND due_at <= %(cutoff)s
    GROUP BY 1, 2, 3
"""


def snapshot_vs_rollup(figures, organization, end) -> None:
    """Computes the last complete month's snapshot of ``organization`` (bound) and the bare SQL
    rollup of the same month's obligations, and adds the ratio (against its goal), the cases
    read, peak memory and size to ``figures``."""
    from django.db import connection
    from run import GOALS, analyze, best_bare, measured

    from assurance.models import SnapshotValue
    from assurance.services import assurance_snapshot_compute, month_add, month_window

    # The last complete month: the one the monthly job computes.
    month = month_add(end.astimezone(organization.zone).date().replace(day=1), -1)
    month_start, month_end = month_window(organization=organization, month=month)
    parameters = {
        "org": organization.pk,
        "start": month_start,
        "end": month_end,
        "cutoff": min(month_end, end),
    }
    read = []
    analyze()
    with measured(f"assurance snapshot {month:%Y-%m}") as compute:
        snapshots = assurance_snapshot_compute(
            organization=organization,
            month=month,
            progress=lambda done, total: read.append((done, total)),
        )
    rows = SnapshotValue.objects.filter(snapshot__in=snapshots).count()

    def bare_rollup():
        with connection.cursor() as cursor:
            cursor.execute(BARE_MONTH_SQL, parameters)
            return cursor.fetchall()

    analyze()
    bare = best_bare(bare_rollup)
    obligations = sum(row[3] for row in bare_rollup())
    figures.ratio(
        "monthly assurance snapshot (all measures, segments, persisted) vs bare SQL rollup of "
        "the month's obligations by site x step",
        compute["seconds"],
        bare,
        "s",
        GOALS["snapshot"],
    )
    cases = sum(snapshot.case_count for snapshot in snapshots)
    figures.note(
        "snapshot: cases read, peak memory growth",
        f"{read[-1][1]:,} cases read (of {cases:,} counted in the month), "
        f"{compute['peak_mb']:.0f} MB",
    )
    figures.note(
        "snapshot size",
        f"{len(snapshots)} site snapshots, {rows:,} figures, {month:%Y-%m}; the bare rollup: "
        f"{obligations:,} obligations",
    )


if __name__ == "__main__":
    main()
