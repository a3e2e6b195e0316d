"""``manage.py compute_assurance --org <slug> --month YYYY-MM``: the monthly assurance snapshot,
computed by the same service the beat job and the Recompute button use."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from assurance.models import DriftSignal
from assurance.services import assurance_snapshot_compute, month_parse
from pathways.wording import implausible_rows_text
from scaling_ops import tenancy
from scaling_ops.models import Organization


class Command(BaseCommand):
    help = "Compute an organisation's monthly assurance snapshot (a new revision per site)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--month", required=True, help="organisation-local month, YYYY-MM")
        parser.add_argument("--reason", default="", help="why it is (re)computed, kept with it")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args, org, month, reason, no_progress, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {org!r}; known: {known}.")
        try:
            first_day = month_parse(month)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        with (
            tenancy.scope(organization),
            tqdm(
                desc=f"{organization.slug} {month}",
                unit="case",
                file=self.stderr._out,  # the raw stream: OutputWrapper adds a newline per redraw
                disable=no_progress,
                leave=False,
            ) as bar,
        ):

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)
                bar.refresh()

            try:
                snapshots = assurance_snapshot_compute(
                    organization=organization,
                    month=first_day,
                    reason=reason or "manage.py compute_assurance",
                    progress=progress,
                )
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            signals = DriftSignal.objects.filter(month=first_day).exclude(
                status=DriftSignal.Status.WITHDRAWN
            )
            for snapshot in snapshots:
                self.stdout.write(
                    f"{organization.slug} {month} {snapshot.site.code}: revision "
                    f"{snapshot.revision}, {snapshot.case_count} cases, "
                    f"{snapshot.values.count()} figures"
                    + (" (month to date)" if snapshot.partial else "")
                )
            self.stdout.write(
                f"{len(snapshots)} site snapshots; {signals.count()} drift signals for {month}."
            )
            skipped = implausible_rows_text(
                cases=sum(snapshot.implausible_cases for snapshot in snapshots),
                events=sum(snapshot.implausible_events for snapshot in snapshots),
                organization_slug=organization.slug,
            )
            if skipped:
                self.stdout.write(f"{skipped}.")
