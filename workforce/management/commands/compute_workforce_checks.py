"""``manage.py compute_workforce_checks --org <slug> --date YYYY-MM-DD`` (or ``--from``/``--to``):
the daily workforce integrity checks, by the same service the beat task and Recompute use."""

from collections import Counter
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scaling_ops import tenancy
from scaling_ops.models import Organization
from workforce.models import CheckKind, WorkforceException
from workforce.services.checks import workforce_checks_compute

MAX_DAYS = 366


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date; use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Compute the daily workforce integrity checks of an organisation for a date or range."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--date", help="organisation-local date, YYYY-MM-DD")
        parser.add_argument("--from", dest="date_from", help="first date of a range")
        parser.add_argument("--to", dest="date_to", help="last date of a range")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, org, date, date_from, date_to, no_progress, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {org!r}; known: {known}.")
        days = self._days(date, date_from, date_to)
        with tenancy.scope(organization):
            for day in days:
                with tqdm(
                    desc=f"{organization.slug} {day}",
                    unit="site",
                    file=self.stderr._out,
                    disable=no_progress,
                    leave=False,
                ) as bar:

                    def progress(done: int, total: int) -> None:
                        bar.total = total
                        bar.update(done - bar.n)
                        bar.refresh()

                    run = workforce_checks_compute(
                        organization=organization, date=day, progress=progress
                    )
                counts = Counter(
                    WorkforceException.objects.filter(
                        status=WorkforceException.Status.OPEN
                    ).values_list("kind", flat=True)
                )
                by_kind = ", ".join(f"{label} {counts.get(k, 0)}" for k, label in CheckKind.choices)
                self.stdout.write(
                    f"{organization.slug} {day}: {run.failing} failing checks; open now: {by_kind}; "
                    f"computed in {run.duration_ms} ms"
                )

    def _days(self, single, first, last) -> list[date]:
        if single and (first or last):
            raise CommandError("Give either --date or --from/--to, not both.")
        if single:
            return [_day(single, "--date")]
        if not (first and last):
            raise CommandError("Give --date YYYY-MM-DD, or both --from and --to.")
        start, end = _day(first, "--from"), _day(last, "--to")
        if end < start:
            raise CommandError(f"--to {end} is before --from {start}.")
        count = (end - start).days + 1
        if count > MAX_DAYS:
            raise CommandError(f"{count} days is more than {MAX_DAYS}; compute a shorter range.")
        return [start + timedelta(days=offset) for offset in range(count)]
