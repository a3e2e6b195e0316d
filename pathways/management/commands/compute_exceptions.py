"""``manage.py compute_exceptions --org <slug> --date YYYY-MM-DD`` (or ``--from``/``--to``): the
daily exception report, computed by the same service the beat task and the Recompute button use."""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from pathways.models import ExceptionKind
from pathways.selectors.exceptions import exception_report_kind_counts
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from scaling_ops.models import Organization

MAX_DAYS = 366


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date; use YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = "Compute the daily exception report of an organisation for a date or a range of dates."

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
            unit="case",
            file=self.stderr._out,  # the raw stream: OutputWrapper would add a newline per redraw
            disable=no_progress,
            leave=False,
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
                bar.refresh()  # one redraw per chunk: chunks are few and large

            report = exception_report_compute(
                organization=organization, date=day, progress=progress
            )
        counts = exception_report_kind_counts(report=report)
        by_kind = ", ".join(
            f"{label} {counts.get(kind, 0)}" for kind, label in ExceptionKind.choices
        )
        self.stdout.write(
            f"{organization.slug} {day}: {report.item_count} exceptions in {report.case_count} "
            f"cases ({by_kind}); computed in {report.duration_ms} ms"
        )
