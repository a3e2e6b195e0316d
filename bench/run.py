"""Benchmark: a large synthetic organisation on PostgreSQL, each figure a ratio against a bare
baseline measured in the same run. Not part of `make test`; run with `make bench`.

Figures: daily exception computation (built on the previous day's report, as the beat task runs
it) and a full evaluation of every case, each vs a bare SQL query of the same overdue set;
supervisor queue page and API list
vs a bare ``values()`` page; monthly assurance snapshot vs a bare SQL rollup
(bench/assurance_monthly.py); bulk ingest over HTTP vs raw COPY; peak memory growth of each
computation.

    make bench BENCH_ARGS="--cases 250000"

Needs DATABASE_URL to point at PostgreSQL (the server is used, a scratch database
`scaling_ops_bench` is created and dropped)."""

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = "scaling_ops_bench"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=250_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument(
        "--http-events",
        type=int,
        default=50_000,
        help="events posted over HTTP for the ingest ratio",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser.parse_args()


def prepare_database(name: str = BENCH_DB) -> str:
    """(Re)creates the scratch database ``name`` on the server of DATABASE_URL and points
    DATABASE_URL at it."""
    import dj_database_url
    import psycopg2

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "bench: set DATABASE_URL to a PostgreSQL server, e.g. "
            "postgres://postgres@127.0.0.1:5432/scaling_ops"
        )
    config = dj_database_url.parse(url)
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"],
        host=config["HOST"],
        port=config["PORT"] or 5432,
        password=config["PASSWORD"] or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()
    bench_url = url.rsplit("/", 1)[0] + f"/{name}"
    os.environ["DATABASE_URL"] = bench_url
    return bench_url


def setup_django(name: str = BENCH_DB) -> None:
    """A fresh scratch database ``name``, Django on it with Celery eager, migrated."""
    prepare_database(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scaling_ops.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Production runs with DEBUG off; on, every query's SQL is kept in memory (thousands of
    # ids per chunk query), which would grow the memory figures with the organisation.
    settings.DEBUG = False

    print(f"Migrating {name}…", flush=True)
    call_command("migrate", verbosity=0)


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


class Figures:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str]] = []

    def ratio(self, name: str, measured: float, baseline: float, unit: str, higher_is_better: bool):
        ratio = measured / baseline if baseline else float("nan")
        digits = 3 if unit == "s" else 0  # page timings are milliseconds; rates are whole
        self.rows.append(
            (
                name,
                f"{measured:,.{digits}f} {unit}",
                f"{baseline:,.{digits}f} {unit}",
                f"{ratio:.2f}x" + (" (higher is better)" if higher_is_better else ""),
            )
        )
        print(
            f"  {name}: {measured:,.{digits}f} vs {baseline:,.{digits}f} {unit} -> {ratio:.2f}x",
            flush=True,
        )

    def note(self, name: str, value: str):
        self.rows.append((name, value, "", ""))
        print(f"  {name}: {value}", flush=True)

    def table(self) -> str:
        lines = ["| measure | platform | bare baseline | ratio |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@contextmanager
def measured(label: str):
    """Wall time and peak memory growth of the block. Memory is the process's resident size,
    sampled every 20 ms by a thread: tracemalloc would slow allocation-heavy code (pandas,
    the ORM) several-fold and so distort the very timings it sits beside."""
    import threading

    baseline = _rss_mb()
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], _rss_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = {}
    yield result
    result["seconds"] = time.perf_counter() - started
    done.set()
    sampler.join()
    result["peak_mb"] = max(peak[0], _rss_mb()) - baseline
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


def main():
    args = parse_args()
    setup_django()
    from django.db.models import F

    from pathways.models import Case
    from pathways.services.exceptions import exception_report_compute, exception_report_window
    from pathways.synthetic import Generator, SiteProfile
    from scaling_ops import services, tenancy

    figures = Figures()
    organization, sites, definitions = bench_organization()
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=args.days)
    per_day = args.cases / args.days / 4
    profiles = [
        SiteProfile("north", per_day, 0.06, 0.08),
        SiteProfile("south", per_day, 0.10, 0.34, missed_share=0.06),
        SiteProfile("east", per_day, 0.12, 0.15),
        SiteProfile("west", per_day, 0.08, 0.20, language_gap_end=0.2),
    ]
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
        bare_set = []  # the overdue count, kept from the timed runs for the report size line
        bare = best_of(lambda: bare_set.append(bare_overdue(organization, day)))
        figures.ratio(
            "daily exception computation (persisted, all rules, built on the day before's)",
            daily["seconds"],
            bare,
            "s",
            False,
        )
        figures.note(
            "cases evaluated by the daily run",
            f"{report.cases_evaluated:,} of {len(case_ids):,}",
        )
        figures.ratio(
            "full exception computation (every case evaluated, persisted)",
            full["seconds"],
            best_of(lambda: bare_overdue(organization, day - timedelta(days=1))),
            "s",
            False,
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

        # --- supervisor queue page and API list vs a bare values() of the same rows ---
        from queue_figures import queue_and_api_figures

        queue_and_api_figures(figures, organization=organization, report=report)
        key, raw_key = services.partner_key_create(name="bench", sites=sites)

        # --- monthly assurance snapshot vs a bare SQL rollup of the same month ---
        from assurance_monthly import snapshot_vs_rollup

        snapshot_vs_rollup(figures, organization, end)

        # --- bulk ingest over HTTP vs raw COPY of the same rows ---
        ingest_rows(args, figures, raw_key, case_ids, cases)

    print("\nResults\n" + figures.table())
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / "latest.md").write_text(figures.table() + "\n")
    if not args.keep:
        from django.db import connections

        connections.close_all()


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


def settle() -> None:
    """VACUUM ANALYZE and CHECKPOINT after a bulk load: the state autovacuum keeps a live
    database in, so the next measurement (and its bare baseline) does not pay for the load's
    hint bits and dirty pages."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def ingest_rows(args, figures, raw_key, case_ids, cases):
    """Posts fresh events in 1000-event batches to a real HTTP server (runserver-free WSGI
    server in a thread) and COPYs the same rows into the same table."""
    import threading
    import urllib.error
    import urllib.request
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/events/"
    sample = [c for c in cases[: args.http_events]]
    now = datetime.now(UTC) - timedelta(hours=1)
    payload_rows = [
        {
            "id": f"http-{index:09d}",
            "case": case.external_ref,
            "type": "contact_made",
            "occurred_at": now.isoformat(),
        }
        for index, case in enumerate(sample)
    ]
    started = time.perf_counter()
    for offset in range(0, len(payload_rows), 1000):
        body = json.dumps(payload_rows[offset : offset + 1000]).encode()
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != 201:
            server.shutdown()
            figures.note("bulk ingest over HTTP", f"not measured: {url} answered {status}")
            return
    http_rate = len(payload_rows) / (time.perf_counter() - started)
    server.shutdown()

    # The baseline: the same rows (fresh ids) COPYed into the same table, with its indexes
    # and unique constraint, then removed again.
    from pathways.models import CaseEvent
    from pathways.synthetic import SyntheticEvent

    copied = [
        SyntheticEvent(
            id=f"copy-{row['id']}",
            case=row["case"],
            type=row["type"],
            step=None,
            occurred_at=now,
            data={},
            delay=timedelta(0),
        )
        for row in payload_rows
    ]
    organization_id = CaseEvent.objects.values_list("organization_id", flat=True).first()
    started = time.perf_counter()
    copy_events(copied, case_ids, organization_id)
    copy_rate = len(copied) / (time.perf_counter() - started)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pathways_caseevent WHERE event_id LIKE 'copy-http-%%'")
    figures.ratio("bulk ingest over HTTP vs raw COPY", http_rate, copy_rate, "events/s", True)


def copy_events(events, case_ids, organization_id) -> None:
    """COPY of events into pathways_caseevent in 200k-row parts, content hashes included."""
    import io

    from django.db import connection, transaction

    from pathways.services.ingest_hash import event_content_hash

    columns = (
        "organization_id, event_id, case_id, type, step_key, occurred_at, received_at, data,"
        " content_hash"
    )
    now = datetime.now(UTC)
    for offset in range(0, len(events), 200_000):
        buffer = io.StringIO()
        for event in events[offset : offset + 200_000]:
            data = event.data or {}
            fields = [
                str(organization_id),
                event.id,
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
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert(f"COPY pathways_caseevent ({columns}) FROM STDIN", buffer)


if __name__ == "__main__":
    main()
