"""``manage.py compute_exceptions --org <slug> --date YYYY-MM-DD`` (or ``--from``/``--to``): the
daily exception report, computed by the same service the beat task and the Recompute button use.
A day is built on the previous day's report where it can be; ``--full`` evaluates every case."""

from pathways.models import ExceptionKind
from pathways.selectors.exceptions import exception_report_kind_counts
from pathways.services.exceptions import exception_report_compute
from scaling_ops.management.daily import DailyComputeCommand


class Command(DailyComputeCommand):
    help = "Compute the daily exception report of an organisation for a date or a range of dates."
    progress_unit = "case"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--full",
            action="store_true",
            help="evaluate every case, not only those changed since the previous day's report",
        )

    def handle(self, *args, full, **options):
        self.full = full
        super().handle(*args, **options)

    def compute(self, *, organization, day, progress):
        return exception_report_compute(
            organization=organization, date=day, progress=progress, full=self.full
        )

    def summary(self, *, organization, day, result) -> str:
        counts = exception_report_kind_counts(report=result)
        by_kind = ", ".join(
            f"{label} {counts.get(kind, 0)}" for kind, label in ExceptionKind.choices
        )
        return (
            f"{organization.slug} {day}: {result.item_count} exceptions in {result.case_count} "
            f"cases ({by_kind}); {result.evaluation}; computed in {result.duration_ms} ms"
            + (f"; {result.skipped}" if result.skipped else "")
        )
