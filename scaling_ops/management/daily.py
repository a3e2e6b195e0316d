"""The shape shared by the commands that compute a daily result of one organisation
(``compute_exceptions``, ``compute_workforce_checks``): ``--org`` and ``--date`` or
``--from``/``--to``, clear errors, a progress bar on stderr and one summary line per day."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from scaling_ops import tenancy
from scaling_ops.models import Organization

MAX_DAYS = 366


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date; use YYYY-MM-DD.") from None


class DailyComputeCommand(BaseCommand):
    """Subclasses set ``progress_unit`` and give ``compute`` (the service call, reporting its
    progress) and ``summary`` (the day's line, written once the bar has gone)."""

    progress_unit = "item"

    def compute(self, *, organization: Organization, day: date, progress):
        raise NotImplementedError

    def summary(self, *, organization: Organization, day: date, result) -> str:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--date", help="organisation-local date, YYYY-MM-DD")
        parser.add_argument("--from", dest="date_from", help="first date of a range, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="last date of a range, YYYY-MM-DD")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, org, date, date_from, date_to, no_progress, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {org!r}; known: {known}.")
        days = self._days(date, date_from, date_to)
        with tenancy.scope(organization):
            for day in days:
                self._compute(organization, day, no_progress)

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

    def _compute(self, organization, day, no_progress) -> None:
        with tqdm(
            desc=f"{organization.slug} {day}",
            unit=self.progress_unit,
            file=self.stderr._out,  # the raw stream: OutputWrapper would add a newline per redraw
            disable=no_progress,
            leave=False,
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
                bar.refresh()  # one redraw per chunk: chunks are few and large

            result = self.compute(organization=organization, day=day, progress=progress)
        self.stdout.write(self.summary(organization=organization, day=day, result=result))
