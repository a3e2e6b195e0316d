"""``manage.py evaluate_contracts --org <slug> [--month YYYY-MM]``: evaluates every contract's
performance terms from the current monthly snapshots (the same service the snapshot hook and
the Re-evaluate button use) and opens the joint improvement processes the corrective-action
clauses call for. Without ``--month``, every month with a snapshot, oldest first."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from assurance.contracts.models import CorrectiveProcess, TermEvaluation
from assurance.contracts.services import contract_terms_evaluate
from assurance.models import AssuranceSnapshot
from assurance.services import month_parse
from scaling_ops import tenancy
from scaling_ops.models import Organization


class Command(BaseCommand):
    help = "Evaluate contract performance terms and corrective-action clauses."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--month", default="", help="organisation-local month, YYYY-MM")

    def handle(self, *args, org, month, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {org!r}; known: {known}.")
        with tenancy.scope(organization):
            if month:
                try:
                    months = [month_parse(month)]
                except ValidationError as error:
                    raise CommandError(" ".join(error.messages)) from None
            else:
                months = sorted(set(AssuranceSnapshot.objects.values_list("month", flat=True)))
            if not months:
                raise CommandError(
                    f"{organization.slug} has no monthly snapshot yet; run compute_assurance."
                )
            opened_before = CorrectiveProcess.objects.count()
            for first_day in months:
                evaluations = contract_terms_evaluate(organization=organization, month=first_day)
                counts = dict(
                    TermEvaluation.objects.filter(month=first_day)
                    .values("status")
                    .annotate(n=Count("id"))
                    .values_list("status", "n")
                )
                summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
                self.stdout.write(
                    f"{organization.slug} {first_day:%Y-%m}: {len(evaluations)} term evaluations"
                    + (f" ({summary})" if summary else "")
                )
            opened = CorrectiveProcess.objects.count() - opened_before
            still_open = CorrectiveProcess.objects.filter(
                status=CorrectiveProcess.Status.OPEN
            ).count()
            self.stdout.write(
                f"{opened} joint improvement process(es) opened; {still_open} open in total."
            )
