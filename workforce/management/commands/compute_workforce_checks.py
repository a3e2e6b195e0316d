"""``manage.py compute_workforce_checks --org <slug> --date YYYY-MM-DD`` (or ``--from``/``--to``):
the daily workforce integrity checks, by the same service the beat task and Recompute use."""

from collections import Counter

from scaling_ops.management.daily import DailyComputeCommand
from workforce.models import CheckKind, WorkforceException
from workforce.services.checks import workforce_checks_compute


class Command(DailyComputeCommand):
    help = "Compute the daily workforce integrity checks of an organisation for a date or range."
    progress_unit = "site"

    def compute(self, *, organization, day, progress):
        return workforce_checks_compute(organization=organization, date=day, progress=progress)

    def summary(self, *, organization, day, result) -> str:
        counts = Counter(
            WorkforceException.objects.filter(status=WorkforceException.Status.OPEN).values_list(
                "kind", flat=True
            )
        )
        by_kind = ", ".join(f"{label} {counts.get(k, 0)}" for k, label in CheckKind.choices)
        return (
            f"{organization.slug} {day}: {result.failing} failing checks; open now: {by_kind}; "
            f"computed in {result.duration_ms} ms"
        )
