"""Page bench: is every menu page of every role ready in under 1 s in Chromium on the seeded demo?

Serves the demo as production does (DEBUG off, gunicorn, whitenoise with hashed, compressed
static files from collectstatic), logs each demo role in through the real form, opens every page
its menu links to and reads the browser's Navigation Timing: DOMContentLoaded and load, from the
start of the navigation. Each page is opened twice and the second visit is reported (a person's
second page: static files come from the browser's cache, as the far-future Cache-Control lets
them). Each figure is printed beside the 1 s goal with met / not met, with what the page loaded,
and the table is written to bench/results/pages-latest.md. Not part of `make test` (the project
measures speed in benchmarks, never in timed tests):

    make bench-pages                                  # seeds a scratch demo on first use
    make bench-pages PAGES_ARGS="--db /tmp/demo.sqlite3 --note 'load 9'"

The static checks (names hashed, gzip or brotli, cacheable for a year) are printed too: they are
what keeps the second visit cheap."""

import argparse
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GOAL_MS = 1000
ROLES = ("admin", "lead", "supervisor", "commissioner")
DEMO_PASSWORD = "demo-pass-2026"
HASHED = re.compile(r"\.[0-9a-f]{12}\.(?:js|css)$")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        default=str(ROOT / "bench" / ".pages-demo.sqlite3"),
        help="the demo's SQLite file; migrated and seeded when it does not exist",
    )
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--note", default="", help="a sentence written under the table")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "pages-latest.md"))
    return parser.parse_args(argv)


def server_env(db: Path, static_root: Path, media: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "REDIS_URL", "EMAIL_URL"}}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="localhost,127.0.0.1",
        DATABASE_URL=f"sqlite:///{db}",
        STATIC_ROOT=str(static_root),
        PRIVATE_MEDIA_ROOT=str(media),
        # Plain HTTP on this machine: Chromium keeps Secure cookies for localhost.
        SECURE_SSL_REDIRECT="0",
        TRUSTED_PROXY_COUNT="0",
        # This checkout's code, whatever an editable install in the environment points at.
        PYTHONPATH=str(ROOT),
    )
    return env


def manage(args: list[str], env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def seed(db: Path, env: dict) -> None:
    if db.exists():
        print(f"Using the demo in {db}")
        return
    print(f"Seeding the demo into {db} (minutes)…")
    seed_env = {**env, "DEBUG": "1"}
    manage(["migrate", "--noinput", "-v", "0"], seed_env)
    manage(["seed_demo"], seed_env)


def wait_for(port: int, process, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("bench-pages: gunicorn stopped before it answered")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    sys.exit(f"bench-pages: nothing answered on port {port}")


def static_findings(visits) -> list[str]:
    """What the walk saw of the static files: hashed names, compression, caching."""
    headers = {}
    for visit in visits:
        headers.update(visit.static_headers)
    problems = []
    for url, h in sorted(headers.items()):
        name = url.split("?")[0]
        if not HASHED.search(name):
            problems.append(f"{name}: name not hashed")
        if h.get("content-encoding") not in {"gzip", "br"}:
            problems.append(f"{name}: not compressed")
        control = h.get("cache-control", "")
        match = re.search(r"max-age=(\d+)", control)
        if not match or int(match.group(1)) < 365 * 24 * 3600:
            problems.append(f"{name}: cached for less than a year ({control or 'no header'})")
    return [f"{len(headers)} static files seen"] + (problems or ["all hashed, compressed, cached"])


def walk(base_url: str):
    from scaling_ops import browser_walk

    playwright, browser = browser_walk.start_chromium()
    rows, visits = [], []
    try:
        for role in ROLES:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            if not browser_walk.log_in(page, base_url, role, DEMO_PASSWORD):
                sys.exit(f"bench-pages: could not log in as {role}: is the demo seeded?")
            for label, href in browser_walk.menu_links(page):
                browser_walk.visit(page, base_url, label, href)  # first visit: fills the cache
                visit = browser_walk.visit(page, base_url, label, href)
                visits.append(visit)
                rows.append((role, visit))
                print(
                    f"{role:12} {label:22} DOM {visit.dom_ms:5} ms, load {visit.load_ms:5} ms"
                    f"  {'met' if visit.load_ms <= GOAL_MS else 'NOT MET'}",
                    flush=True,
                )
            context.close()
    finally:
        browser.close()
        playwright.stop()
    return rows, static_findings(visits)


def command() -> str:
    """How this run was started (make bench-pages runs the same script)."""
    import shlex

    return "python bench/page_ready.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def table(rows, static, args, started, took) -> str:
    load = os.getloadavg()
    met = sum(1 for _role, v in rows if v.load_ms is not None and v.load_ms <= GOAL_MS)
    lines = [
        "# Page bench: every menu page of every role, ready in under 1 s?",
        "",
        f"Run on {started:%Y-%m-%d %H:%M} UTC with `{command()}`, {took:.0f} s in all: "
        f"the seeded demo (SQLite) served by gunicorn ({args.workers} workers, DEBUG off, "
        "whitenoise), Debian Chromium at 1366 px, each page's second visit (static files "
        "from the browser's cache). Times from the start of the navigation (Navigation Timing).",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average at "
        f"the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}.",
        "",
    ]
    if args.note:
        lines += [args.note, ""]
    lines += [
        "| role | page | DOM ready | load | goal | met | requests | HTML | plotly |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for role, v in rows:
        lines.append(
            f"| {role} | {v.label} | {v.dom_ms} ms | {v.load_ms} ms | under {GOAL_MS} ms | "
            f"{'met' if v.load_ms is not None and v.load_ms <= GOAL_MS else '**not met**'} | "
            f"{len(v.resources)} | {v.html_bytes / 1024:.0f} KB | "
            f"{'yes' if v.loads('plotly') else 'no'} |"
        )
    lines += ["", f"Pages ready within the goal: {met} of {len(rows)}.", ""]
    lines += ["Static files: " + "; ".join(static) + ".", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    started = datetime.now(UTC)
    clock = time.monotonic()
    db = Path(args.db).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = server_env(db, scratch / "static", scratch / "media")
    seed(db, env)
    manage(["collectstatic", "--noinput", "-v", "0"], env)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    server = subprocess.Popen(
        [gunicorn, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{args.port}",
         "--workers", str(args.workers), "--timeout", "120", "scaling_ops.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(args.port, server)
        rows, static = walk(f"http://localhost:{args.port}")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)
    text = table(rows, static, args, started, time.monotonic() - clock)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print("\n" + text)
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
