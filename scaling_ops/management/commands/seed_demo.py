import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from scaling_ops import demo, tenancy


class Command(BaseCommand):
    help = "Build (or rebuild) the demo organisation with months of data and computed reports."

    def add_arguments(self, parser):
        parser.add_argument("--time-zone", default=settings.DEMO_TIME_ZONE)

    def handle(self, *args, time_zone, **options):
        def say(message: str) -> None:
            self.stdout.write(f"  {message}")
            self.stdout.flush()

        interactive = self.stdout.isatty()
        shown: dict[str, int] = {}

        def progress(what: str, done: int, total: int) -> None:
            if interactive:
                # Redrawn in place on a terminal.
                self.stdout.write(f"\r  {progress_bar(what, done, total)}", ending="")
                if done >= total:
                    self.stdout.write("")
            else:
                # A log or a CI job gets a line per tenth of the way, not one per step.
                step = progress_step(done, total)
                if shown.get(what) == step:
                    return
                shown[what] = step
                self.stdout.write(f"  {progress_bar(what, done, total)}")
            self.stdout.flush()

        started = time.monotonic()
        if connection.vendor == "sqlite" and not connection.in_atomic_block:
            # Seeding commits hundreds of times; on SQLite each commit waited for the disk
            # (a fifth of the seed). For this connection only: an operating-system crash
            # mid-seed can leave a database to seed again, which `make seed` does anyway.
            # (SQLite refuses the change inside a transaction: a caller's, such as a test's.)
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous = OFF")
        self.stdout.write("Building the demo organisation…")
        with transaction.atomic():
            context = demo.build_core(say, time_zone, progress)
        with tenancy.scope(context.organization):
            seeders = demo.seeders()
            for number, (name, seeder) in enumerate(seeders, start=1):
                self.stdout.write(f"- [{number}/{len(seeders)}] {name}")
                seeder(context)
        if connection.vendor == "postgresql":
            # The planner's statistics are those of the empty tables until autovacuum's next
            # round: the first visitors would meet plans made for none (the queue's caseload
            # query took 920 ms, 46 ms once analyzed).
            self.stdout.write("- Planner statistics (ANALYZE)")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(f"Seeded in {time.monotonic() - started:.0f} s.")
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in at http://127.0.0.1:8000/ as:"))
        for username, role, _, _ in demo.DEMO_USERS:
            self.stdout.write(f"  {role.label:<22} {username:<14} password: {demo.DEMO_PASSWORD}")


def progress_step(done: int, total: int, steps: int = 10) -> int:
    """Which tenth of the way ``done`` of ``total`` has reached (0 at the start, 10 at the end)."""
    return steps * done // total if total else steps


def progress_bar(what: str, done: int, total: int, width: int = 30) -> str:
    """``what [#########.........]  45/91``: a bar redrawn in place on one line."""
    filled = width * done // total if total else width
    return f"{what} [{'#' * filled}{'.' * (width - filled)}] {done:>{len(str(total))}}/{total}"
