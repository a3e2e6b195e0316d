"""Benchmark: a large synthetic organisation on PostgreSQL, each figure a ratio against a bare
baseline measured in the same run and printed beside its goal (met / not met). Not part of
`make test`; run with `make bench`.

Figures, each against the same rows read bare: the daily exception computation (built on the
previous day's report, as the beat task runs it) and a full evaluation of every case, vs a bare
SQL query of the same overdue set; the monthly assurance snapshot vs a bare SQL rollup of the
month's obligations by site x step (bench/assurance_monthly.py); the supervisor queue page and
the API list (bench/queue_figures.py); bulk ingest over
HTTP against gunicorn with a realistic mix of events vs a COPY of the same rows from a buffer
built beforehand, for 1, 4 and 8 clients; peak memory growth of each computation.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scaling_ops make bench
    make bench BENCH_ARGS="--cases 20000"     # a small run while developing

The run uses a scratch database on the server of DATABASE_URL, named by BENCH_DATABASE (default:
DATABASE_URL's database name + ``_bench``). It refuses a database of that name that an earlier
bench run did not create (marked by a comment), and drops it at the end unless ``--keep``.
The table is written to bench/results/latest.md with the date, the machine and the command."""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MARKER = "scaling_ops bench scratch database"

# The goals of issue 20 (ratios in one run, 250k cases, 2 cores).
GOALS = {
    "daily": ("<=", 3.0),
    "full": ("<=", 5.0),
    "snapshot": ("<=", 3.0),
    "ingest": (">=", 0.5),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=250_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument(
        "--http-events",
        type=int,
        default=50_000,
        help="events posted over HTTP for each ingest figure (1, 4 and 8 clients); at least "
        "enough for 20 batches",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument(
        "--note", default="", help="a sentence written under the table (e.g. the machine's load)"
    )
    return parser.parse_args(argv)


def scratch_name(url: str, environ=os.environ) -> str:
    """The scratch database's name: BENCH_DATABASE, else DATABASE_URL's database + ``_bench``.
    Never DATABASE_URL's own database."""
    import re

    import dj_database_url

    own = dj_database_url.parse(url)["NAME"] or "scaling_ops"
    name = environ.get("BENCH_DATABASE") or f"{own}_bench"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        sys.exit(f"bench: BENCH_DATABASE={name!r}: use lower-case letters, digits and _")
    if name == own:
        sys.exit(f"bench: BENCH_DATABASE={name!r} is DATABASE_URL's own database; name another")
    return name


def _admin_connection(url: str):
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        host=config["HOST"],
        port=config["PORT"] or 5432,
        password=config["PASSWORD"] or None,
    )
    connection.autocommit = True
    return connection


def prepare_database(name: str, url: str) -> str:
    """Creates the scratch database ``name`` on the server of ``url`` (dropping one an earlier
    bench run left, refusing any other) and returns its URL."""
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "bench: set DATABASE_URL to a PostgreSQL server, e.g. "
            "postgres://postgres@127.0.0.1:5432/scaling_ops"
        )
    admin = _admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        )
        existing = cursor.fetchone()
        if existing is not None and existing[0] != MARKER:
            admin.close()
            sys.exit(
                f"bench: a database {name!r} exists that no bench run created; set "
                "BENCH_DATABASE to another name (nothing was dropped)"
            )
        if existing is not None:
            cursor.execute(f"DROP DATABASE {name}")
        cursor.execute(f"CREATE DATABASE {name}")
        cursor.execute(f"COMMENT ON DATABASE {name} IS %s", [MARKER])
    admin.close()
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(name: str, url: str) -> None:
    from django.db import connections

    connections.close_all()
    admin = _admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.close()
    print(f"Dropped the scratch database {name}.", flush=True)


def setup_django(name: str, url: str) -> str:
    """A fresh scratch database ``name``, Django on it with Celery eager, migrated; returns its
    URL."""
    bench_url = prepare_database(name, url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scaling_ops.settings")
    os.environ.pop("REDIS_URL", None)
    # DEBUG unset is production, which requires a SECRET_KEY: the bench takes the embedded
    # defaults (DEBUG=1) and turns DEBUG off once Django is set up, as production runs.
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Production runs with DEBUG off; on, every query's SQL is kept in memory (thousands of
    # ids per chunk query), which would grow the memory figures with the organisation.
    settings.DEBUG = False

    print(f"Migrating {name}…", flush=True)
    call_command("migrate", verbosity=0)
    return bench_url


def bench_organization():
    """The organisation ``bench`` (Europe/London, sites north, south, east, west) with the demo
    pathways active; returns it, its sites and the pathway definitions."""
    from pathways import demo as pathway_demo
    from pathways.services.versions import pathway_version_import
    from scaling_ops import services, tenancy

    organization, sites = services.organization_create_or_update(
        slug="bench",
        name="Bench",
        time_zone="Europe/London",
        sites=["north", "south", "east", "west"],
    )
    definitions = [
        json.loads((pathway_demo.FIXTURES / name).read_text())
        for name in pathway_demo.PATHWAY_FILES
    ]
    with tenancy.scope(organization):
        for data in definitions:
            pathway_version_import(data=data, activate=True)
    return organization, sites, definitions


def goal_text(goal) -> str:
    op, target = goal
    return f"within {target:g}x" if op == "<=" else f"at least {target:g}x"


def goal_met(goal, ratio: float) -> bool:
    op, target = goal
    return ratio <= target if op == "<=" else ratio >= target


class Figures:
    """The run's table: every figure with its bare baseline, the ratio, the goal and whether
    it was met."""

    HEADER = ["measure", "platform", "bare baseline", "ratio", "goal", "met"]

    def __init__(self):
        self.rows: list[list[str]] = []
        self.verdicts: list[tuple[str, bool]] = []

    def ratio(
        self,
        name: str,
        measured: float,
        baseline: float,
        unit: str,
        goal: tuple[str, float] | None = None,
        higher_is_better: bool = False,
    ):
        ratio = measured / baseline if baseline else float("nan")
        digits = 3 if unit == "s" else 0
        verdict = ""
        if goal is not None:
            met = goal_met(goal, ratio)
            verdict = "met" if met else "**not met**"
            self.verdicts.append((name, met))
        self.rows.append(
            [
                name,
                f"{measured:,.{digits}f} {unit}",
                f"{baseline:,.{digits}f} {unit}",
                f"{ratio:.2f}x" + (" (higher is better)" if higher_is_better else ""),
                goal_text(goal) if goal else "",
                verdict,
            ]
        )
        print(
            f"  {name}: {measured:,.{digits}f} vs {baseline:,.{digits}f} {unit} -> {ratio:.2f}x"
            + (f"   goal {goal_text(goal)}: {verdict}" if goal else ""),
            flush=True,
        )

    def note(self, name: str, value: str):
        self.rows.append([name, value, "", "", "", ""])
        print(f"  {name}: {value}", flush=True)

    def table(self) -> str:
        lines = ["| " + " | ".join(self.HEADER) + " |", "|" + "---|" * len(self.HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def summary(self) -> str:
        met = [name for name, ok in self.verdicts if ok]
        missed = [name for name, ok in self.verdicts if not ok]
        text = f"Goals met: {len(met)} of {len(self.verdicts)}."
        if missed:
            text += " Not met: " + "; ".join(missed) + "."
        return text


def machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model or platform.machine()}), PostgreSQL {server} on the "
        f"same host, Python {platform.python_version()}; load average at the end: {load}"
    )


def write_results(figures: Figures, args, started: datetime, argv: list[str]) -> str:
    shown = [arg for arg in argv if arg != "--note" and arg != args.note]
    command = "make bench" + (f' BENCH_ARGS="{" ".join(shown)}"' if shown else "")
    text = "\n".join(
        [
            "# Bench results",
            "",
            f"Run on {started:%Y-%m-%d %H:%M} UTC with `{command}`, "
            f"{(datetime.now(UTC) - started).total_seconds() / 60:.0f} min in all.",
            f"Machine: {machine()}.",
            *([f"\n{args.note}"] if args.note else []),
            "",
            figures.table(),
            "",
            figures.summary(),
            "",
        ]
    )
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "latest.md").write_text(text)
    return text


def _own_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _children() -> list[str]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
    return pids


def _anonymous_kb(pid: str) -> int | None:
    """The process's resident anonymous memory (``RssAnon``): a counter the kernel keeps, where
    ``smaps_rollup`` walks the page tables under the process's memory-map lock, which at the
    bench's process size stalled the very workers it measured."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:  # the child ended meanwhile
        return None
    return None


class _MemoryGrowth:
    """This process's resident size's growth plus, for each child process (the workers that
    evaluate chunks: ``COMPUTE_PROCESSES``), its anonymous memory's growth since first seen: a
    forked worker starts with the parent's pages counted as its own, shared until written."""

    def __init__(self):
        self.own_baseline = _own_mb()
        self.first_seen: dict[str, int] = {}

    def now_mb(self) -> float:
        workers_kb = 0
        for pid in _children():
            anonymous = _anonymous_kb(pid)
            if anonymous is not None:
                workers_kb += max(anonymous - self.first_seen.setdefault(pid, anonymous), 0)
        return _own_mb() - self.own_baseline + workers_kb / 1024


@contextmanager
def measured(label: str):
    """Wall time and peak memory growth of the block (``_MemoryGrowth``), sampled every 20 ms
    by a thread: tracemalloc would slow allocation-heavy code (pandas, the ORM) several-fold and
    so distort the very timings it sits beside."""
    import threading

    growth = _MemoryGrowth()
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], growth.now_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = {}
    yield result
    result["seconds"] = time.perf_counter() - started
    done.set()
    sampler.join()
    result["peak_mb"] = max(peak[0], growth.now_mb())
    print(
        f"  {label}: {result['seconds']:.2f}s, peak memory growth {result['peak_mb']:.0f} MB",
        flush=True,
    )


def best_of(function, repeat: int = 3) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def best_bare(function) -> float:
    """A bare baseline's best time with PostgreSQL's JIT on (the server's default) and off (the
    platform's connections), whichever is faster: the platform turns JIT off because compiling
    cost more than running its reads, so its baselines get the same choice."""
    from django.db import connection, transaction

    def with_jit(setting: str) -> float:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL jit = {setting}")
            return best_of(function)

    return min(with_jit("on"), with_jit("off"))


def analyze() -> None:
    """Fresh planner statistics before a timing, for the platform and its baseline alike."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def settle() -> None:
    """VACUUM ANALYZE and CHECKPOINT after a bulk load: the state autovacuum keeps a live
    database in, so the next measurement (and its bare baseline) does not pay for the load's
    hint bits and dirty pages."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "bench: set DATABASE_URL to a PostgreSQL server, e.g. "
            "postgres://postgres@127.0.0.1:5432/scaling_ops"
        )
    name = scratch_name(url)
    bench_url = setup_django(name, url)
    try:
        figures = run(args, bench_url)
        text = write_results(figures, args, started_at, argv)
        print("\n" + text)
    finally:
        if args.keep:
            print(f"Kept the scratch database {name} (--keep).", flush=True)
        else:
            drop_database(name, url)


def run(args, bench_url: str) -> Figures:
    from django.db.models import F

    from pathways.models import Case
    from pathways.services.exceptions import exception_report_compute, exception_report_window
    from pathways.synthetic import Generator
    from scaling_ops import services, tenancy

    figures = Figures()
    organization, sites, definitions = bench_organization()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    profiles = site_profiles(args.cases / args.days / 4)
    with tenancy.scope(organization):
        print(f"Generating ~{args.cases:,} cases over {args.days} days…", flush=True)
        generator = Generator(definitions, profiles, start, end, seed=7, contacts=(0, 2))
        from pathways.services import bulk_load

        cases, events = [], []
        for case, case_events in generator.cases():
            cases.append(case)
            events.extend(case_events)
        figures.note("organisation", f"{len(cases):,} cases, {len(events):,} events, 4 sites")
        with measured("load cases"):
            case_ids = bulk_load.cases_bulk_load(cases=cases)
            # As in life, each case was created at its referral (not all a moment ago).
            Case.objects.update(created_at=F("referral_at"), updated_at=F("referral_at"))

        # The day before yesterday is computed (every case) with the events that had reached
        # us by an hour after its end; the rest arrive; yesterday's report is then the daily
        # run the beat task makes, built on the day before's.
        day = (end - timedelta(days=1)).date()
        _, previous_cutoff = exception_report_window(
            organization=organization, date=day - timedelta(days=1)
        )
        arrived = previous_cutoff + timedelta(hours=1)
        early = [event for event in events if event.occurred_at + event.delay <= arrived]
        late = [event for event in events if event.occurred_at + event.delay > arrived]
        del events  # ~2M objects: freed so the computations' memory growth is their own
        # The organisation's history goes in by COPY (the figure that matters for partners is
        # the HTTP ingest below; an ORM load of ~2M rows would take most of the time budget).
        with measured("load events (COPY into the events table)") as load:
            copy_events(early, case_ids, organization.pk)
        figures.note(
            "event load (COPY)", f"{len(early) / load['seconds']:,.0f} events/s ({len(early):,})"
        )
        del early
        settle()
        with measured("exception report, full evaluation of every case") as full:
            previous = exception_report_compute(
                organization=organization, date=day - timedelta(days=1), full=True
            )
        copy_events(late, case_ids, organization.pk)
        figures.note("events arrived since", f"{len(late):,}")
        del late
        settle()
        with measured("exception report, the daily run") as daily:
            report = exception_report_compute(organization=organization, date=day)
        analyze()
        bare_set = []  # the overdue count, kept from the timed runs for the report size line
        bare = best_bare(lambda: bare_set.append(bare_overdue(organization, day)))
        figures.ratio(
            "daily exception computation (persisted, all rules, built on the day before's)",
            daily["seconds"],
            bare,
            "s",
            GOALS["daily"],
        )
        figures.note(
            "cases evaluated by the daily run",
            f"{report.cases_evaluated:,} of {len(case_ids):,}",
        )
        figures.ratio(
            "full exception computation (every case evaluated, persisted)",
            full["seconds"],
            best_bare(lambda: bare_overdue(organization, day - timedelta(days=1))),
            "s",
            GOALS["full"],
        )
        figures.note(
            "exception computation peak memory growth",
            f"{daily['peak_mb']:.0f} MB daily, {full['peak_mb']:.0f} MB full",
        )
        overdue = report.lines.filter(kind="overdue_step").count()
        figures.note(
            "report size",
            f"{report.item_count:,} items over {report.case_count:,} cases; {overdue:,} overdue "
            f"steps ({previous.item_count:,} items the day before); the bare query's set: "
            f"{bare_set[-1]:,} (tiers and closures ignored)",
        )

        # --- the monthly assurance snapshot vs a bare SQL rollup of the month's obligations ---
        from assurance_monthly import snapshot_vs_rollup

        settle()
        snapshot_vs_rollup(figures, organization, end)

        # --- the supervisor queue page and the API list (bench/queue_figures.py) ---
        from queue_figures import queue_and_api_figures

        settle()
        queue_and_api_figures(figures, organization=organization, report=report)
        _, raw_key = services.partner_key_create(name="bench", sites=sites)

        # --- bulk ingest over HTTP (gunicorn) vs COPY of the same rows ---
        ingest_figures(args, figures, raw_key, definitions, organization, bench_url)
    return figures


def site_profiles(per_day: float):
    from pathways.synthetic import SiteProfile

    return [
        SiteProfile("north", per_day, 0.06, 0.08),
        SiteProfile("south", per_day, 0.10, 0.34, missed_share=0.06),
        SiteProfile("east", per_day, 0.12, 0.15),
        SiteProfile("west", per_day, 0.08, 0.20, language_gap_end=0.2),
    ]


# The same overdue set in bare SQL: every referral- and step-anchored time standard whose due
# has passed at the cutoff without a completion of its step. It ignores what the engine adds
# (tiers at the anchor, closures, assessment completeness, missed-contact anchors, escalation
# rules, triage state, persistence), which is what the ratio prices.
BARE_OVERDUE_SQL = """
    WITH done AS (
        SELECT case_id, step_key, min(occurred_at) AS at FROM pathways_caseevent
        WHERE organization_id = %(org)s AND type = 'step_completed' AND occurred_at <= %(cutoff)s
        GROUP BY case_id, step_key
    )
    SELECT count(*) FROM pathways_case c
    JOIN pathways_step s ON s.version_id = c.version_id
    JOIN pathways_timestandard t ON t.step_id = s.id
        AND (t.anchor = 'referral' OR t.anchor LIKE 'step:%%')
    LEFT JOIN done anchor ON t.anchor <> 'referral' AND anchor.case_id = c.id
        AND anchor.step_key = substr(t.anchor, 6)
    LEFT JOIN done completed ON completed.case_id = c.id AND completed.step_key = s.key
    WHERE c.organization_id = %(org)s AND c.referral_at <= %(cutoff)s
      AND (t.anchor = 'referral' OR anchor.at IS NOT NULL)
      AND coalesce(anchor.at, c.referral_at) + t.within_hours * interval '1 hour' <= %(cutoff)s
      AND completed.at IS NULL
"""


def bare_overdue(organization, day) -> int:
    from django.db import connection

    from pathways.services.exceptions import exception_report_window

    _, cutoff = exception_report_window(organization=organization, date=day)
    with connection.cursor() as cursor:
        cursor.execute(BARE_OVERDUE_SQL, {"org": organization.pk, "cutoff": cutoff})
        return cursor.fetchone()[0]


# --- ingest ---------------------------------------------------------------------------------

REPLAY_EVERY = 10  # one item in ten of each batch is a replay of an item already sent
BATCH_SIZE = 1000
FRESH_PER_BATCH = BATCH_SIZE - BATCH_SIZE // REPLAY_EVERY
# Fewer batches measure the first requests more than the steady rate (the 5-batch runs of
# --http-events 5000 swung from 0.06x to 0.28x); 20 batches take a few seconds.
MIN_MEASURED_BATCHES = 20
GUNICORN_WORKERS = 3  # as the Dockerfile runs it
WARM_UP_ROUNDS = 2


def measured_events(requested: int) -> int:
    """The events posted in each ingest run: as requested, but enough for
    ``MIN_MEASURED_BATCHES`` batches."""
    return max(requested, MIN_MEASURED_BATCHES * FRESH_PER_BATCH)


def ingest_batches(events, prefix: str, batch_size: int = BATCH_SIZE) -> list[list[dict]]:
    """The partner's batches of ``events`` (in arrival order), ids prefixed with ``prefix``;
    from the second batch on, one item in ``REPLAY_EVERY`` is an item of the batch before sent
    again unchanged (a replay, answered ``duplicate``)."""
    items = [
        {
            "id": f"{prefix}{event.id}",
            "case": event.case,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            **({"step": event.step} if event.step else {}),
            **({"data": event.data} if event.data else {}),
        }
        for event in sorted(events, key=lambda event: event.occurred_at + event.delay)
    ]
    fresh = batch_size - batch_size // REPLAY_EVERY
    batches, previous = [], []
    for offset in range(0, len(items), fresh):
        batch = items[offset : offset + fresh]
        batch += previous[: batch_size // REPLAY_EVERY]
        batches.append(batch)
        previous = items[offset : offset + fresh]
    return batches


def ingest_events(definitions, organization, number: int, seed: int):
    """Fresh cases (loaded first, as a partner creates them) and about ``number`` of their
    events from the demo's generator: steps, assessments with their fields, contacts, tier
    changes, outcomes, closures; dated within the last weeks."""
    from dataclasses import replace

    from pathways.services import bulk_load
    from pathways.synthetic import Generator

    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    days = 30
    per_day = number / 7.5 / days / 4
    generator = Generator(
        definitions, site_profiles(per_day), end - timedelta(days=days), end, seed=seed
    )
    cases, events = [], []
    for case, case_events in generator.cases():
        case = replace(case, external_ref=f"I{seed}-{case.external_ref}")
        cases.append(case)
        events += [replace(event, case=case.external_ref) for event in case_events]
        if len(events) >= number:
            break
    case_ids = bulk_load.cases_bulk_load(cases=cases)
    return events[:number], case_ids


def ingest_figures(args, figures, raw_key, definitions, organization, bench_url) -> None:
    """Bulk ingest over HTTP against gunicorn (the Dockerfile's workers) with 1, 4 and 8
    clients, each run with its own fresh events; the single client's rate beside a COPY of
    the same rows (fresh ids) from a buffer built before the clock starts."""
    from django.db import connection

    from pathways.models import CaseEvent

    runs = {}
    number = measured_events(args.http_events)
    with gunicorn(bench_url) as base:
        for clients, seed in ((1, 101), (4, 104), (8, 108)):
            events, case_ids = ingest_events(definitions, organization, number, seed)
            batches = ingest_batches(events, prefix=f"h{clients}-")
            # Other cases and ids than the measured ones: nothing measured becomes a replay.
            warm_up_events, _ = ingest_events(
                definitions,
                organization,
                WARM_UP_ROUNDS * GUNICORN_WORKERS * FRESH_PER_BATCH,
                seed + 1000,
            )
            analyze()
            warm_up(base, raw_key, ingest_batches(warm_up_events, prefix=f"w{clients}-"))
            runs[clients] = post_batches(base, raw_key, batches, clients)
            if clients == 1:
                single = (events, case_ids, len(batches))
    if any(run is None for run in runs.values()):
        figures.note("bulk ingest over HTTP", "not measured: " + str(runs))
        return
    events, case_ids, batch_count = single
    stored = CaseEvent.objects.filter(event_id__startswith="h1-").count()
    mix = {}
    for event in events:
        mix[event.type] = mix.get(event.type, 0) + 1
    buffers = copy_buffers(events, case_ids, organization.pk, prefix="copy-")
    analyze()
    started = time.perf_counter()
    copy_from_buffers(buffers)
    copy_rate = len(events) / (time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pathways_caseevent WHERE event_id LIKE 'copy-%%'")
    items, seconds = runs[1]
    figures.note(
        "ingest mix (single client)",
        f"{items:,} items in {batch_count:,} batches of up to "
        f"{BATCH_SIZE:,}, one in {REPLAY_EVERY} a replay; "
        f"{stored:,} stored; "
        + ", ".join(f"{count:,} {kind}" for kind, count in sorted(mix.items())),
    )
    figures.ratio(
        "bulk ingest over HTTP, 1 client, vs COPY from a prebuilt buffer (new rows per second)",
        len(events) / seconds,
        copy_rate,
        "events/s",
        GOALS["ingest"],
        higher_is_better=True,
    )
    for clients in (4, 8):
        items, seconds = runs[clients]
        figures.note(
            f"bulk ingest over HTTP, {clients} clients",
            f"{items / seconds:,.0f} items/s ({items:,} items incl. replays)",
        )


@contextmanager
def gunicorn(bench_url: str):
    """gunicorn as the Dockerfile runs it (3 workers), DEBUG off, on a free local port."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        # The bench posts faster than a partner key's throttle allows; the throttle is not
        # what it measures.
        "PARTNER_API_RATE": "1000000/minute",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "gunicorn.conf.py",
            "scaling_ops.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(GUNICORN_WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(base: str, seconds: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz/") as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.25)


def warm_up(base: str, raw_key: str, batches) -> None:
    """Requests to every worker before the clock starts, as a running server has had them:
    the first request of a worker builds its URL resolver and opens its database connection,
    and its first event batches load the ingest's code paths and that connection's catalogue
    entries for the events table and its indexes. The ``batches`` (other cases and ids than
    the measured ones) are posted ``GUNICORN_WORKERS`` at a time, so that each worker takes
    some; they are not counted."""
    import urllib.error
    import urllib.request

    for _ in range(12):
        request = urllib.request.Request(
            f"{base}/api/v1/exceptions/", headers={"Authorization": f"Bearer {raw_key}"}
        )
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
        except urllib.error.HTTPError:
            pass
    if post_batches(base, raw_key, batches, clients=GUNICORN_WORKERS) is None:
        raise RuntimeError("bench: the warm-up's event batches were refused")


def post_batches(base: str, raw_key: str, batches, clients: int):
    """Posts the batches from ``clients`` threads; (items, seconds), or None on an answer other
    than 201."""
    import threading
    import urllib.error
    import urllib.request

    bodies = [json.dumps(batch).encode() for batch in batches]
    failures = []

    def client(share):
        for body in share:
            request = urllib.request.Request(
                f"{base}/api/v1/events/",
                data=body,
                method="POST",
                headers={"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
                print(f"  ingest: {status} {error.read()[:300]!r}", flush=True)
            if status != 201:
                failures.append(status)
                return

    threads = [
        threading.Thread(target=client, args=(bodies[index::clients],)) for index in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        return None
    return sum(len(batch) for batch in batches), seconds


def copy_buffers(events, case_ids, organization_id, prefix: str = "") -> list:
    """The rows of ``events`` as COPY text buffers of 200k rows, content hashes included."""
    import io

    from pathways.services.ingest_hash import event_content_hash

    now = datetime.now(UTC)
    buffers = []
    for offset in range(0, len(events), 200_000):
        buffer = io.StringIO()
        for event in events[offset : offset + 200_000]:
            data = event.data or {}
            fields = [
                str(organization_id),
                prefix + event.id,
                str(case_ids[event.case]),
                event.type,
                event.step or "",
                event.occurred_at.isoformat(),
                min(event.occurred_at + event.delay, now).isoformat(),
                json.dumps(data).replace("\\", "\\\\"),
                event_content_hash(
                    case=event.case,
                    type=event.type,
                    step=event.step,
                    occurred_at=event.occurred_at,
                    data=data,
                ),
            ]
            buffer.write("\t".join(fields) + "\n")
        buffer.seek(0)
        buffers.append(buffer)
    return buffers


def copy_from_buffers(buffers) -> None:
    from django.db import connection, transaction

    columns = (
        "organization_id, event_id, case_id, type, step_key, occurred_at, received_at, data,"
        " content_hash"
    )
    for buffer in buffers:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(f"COPY pathways_caseevent ({columns}) FROM STDIN", buffer)


def copy_events(events, case_ids, organization_id) -> None:
    """COPY of events into pathways_caseevent in 200k-row parts (the history's load)."""
    for offset in range(0, len(events), 200_000):
        copy_from_buffers(
            copy_buffers(events[offset : offset + 200_000], case_ids, organization_id)
        )


if __name__ == "__main__":
    main()
