"""``manage.py import_pathway <file> --org <slug> [--activate]``: a new version of the pathway the
file defines. An invalid file is rejected whole: every problem is printed as ``path: message`` on
stderr, the exit status is non-zero, and nothing is stored."""

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from pathways.definitions import DefinitionError
from pathways.models import PathwayVersion
from pathways.services.versions import pathway_version_import
from scaling_ops import tenancy
from scaling_ops.models import Organization


def organization_or_error(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
        raise CommandError(f"No organisation with slug {slug!r}; known: {known}.")
    return organization


class Command(BaseCommand):
    help = "Import a pathway definition (JSON) as a new version; --activate makes it active."

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the definition, or - for standard input")
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument(
            "--activate",
            action="store_true",
            help="make it the active version at once (the active one retires)",
        )
        parser.add_argument("--rationale", default="", help="why this version exists")

    def handle(self, *args, file, org, activate, rationale, **options):
        organization = organization_or_error(org)
        text = self._read(file)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            self._reject([("(json)", f"line {error.lineno}, column {error.colno}: {error.msg}")])
        slug = data.get("slug") if isinstance(data, dict) else None
        with tenancy.scope(organization):
            previous = PathwayVersion.objects.filter(
                pathway__slug=slug, status=PathwayVersion.Status.ACTIVE
            ).first()
            try:
                version = pathway_version_import(data=data, activate=activate, rationale=rationale)
            except DefinitionError as error:
                self._reject(error.errors)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
            steps = version.steps.count()
            core = version.steps.filter(core=True).count()
            standards = version.time_standards.count()
            rules = version.escalation_rules.count()
        state = version.get_status_display().lower()
        self.stdout.write(
            f"Imported {version} ({version.name}) into {organization.slug} as {state}: "
            f"{steps} steps ({core} core), {standards} time standards, {rules} escalation "
            f"rule{'s' if rules != 1 else ''}."
        )
        if activate and previous is not None:
            self.stdout.write(f"{previous} retired; its cases stay on it.")
        elif not activate:
            self.stdout.write("Activate it in the UI, or import again with --activate.")

    def _read(self, file: str) -> str:
        if file == "-":
            return sys.stdin.read()
        path = Path(file)
        try:
            return path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {file}: {error}") from None

    def _reject(self, errors) -> None:
        for path, message in errors:
            self.stderr.write(f"{path}: {message}")
        count = len(errors)
        raise CommandError(
            f"Definition rejected: {count} problem{'s' if count != 1 else ''}; nothing was stored."
        )
