"""``manage.py export_pathway <pathway-slug> --org <slug> [--version N]``: a version's definition
as JSON on stdout (the active version unless told, else the latest), ready for import_pathway."""

import json

from django.core.management.base import BaseCommand, CommandError

from pathways.management.commands.import_pathway import organization_or_error
from pathways.models import Pathway
from pathways.selectors.versions import pathway_version_current, pathway_version_definition
from scaling_ops import tenancy


class Command(BaseCommand):
    help = "Print a pathway version's definition as JSON (default: the active version)."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is Django's "show the Django version"; here it names the pathway version.
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("pathway", help="pathway slug, e.g. hospital-to-home")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument("--version", type=int, dest="number", help="version number")

    def handle(self, *args, pathway, org, number, **options):
        organization = organization_or_error(org)
        with tenancy.scope(organization):
            found = Pathway.objects.filter(slug=pathway).first()
            if found is None:
                known = ", ".join(Pathway.objects.order_by("slug").values_list("slug", flat=True))
                raise CommandError(f"No pathway {pathway!r} in {org}; known: {known or 'none'}.")
            if number is None:
                version = pathway_version_current(pathway=found)
            else:
                version = found.versions.filter(number=number).first()
            if version is None:
                numbers = ", ".join(
                    f"v{n}"
                    for n in found.versions.order_by("number").values_list("number", flat=True)
                )
                raise CommandError(
                    f"{pathway} has no version {number}; it has: {numbers or 'none'}."
                )
            definition = pathway_version_definition(version)
        self.stdout.write(json.dumps(definition.to_dict(), indent=2, ensure_ascii=False))
