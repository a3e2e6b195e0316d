from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scaling_ops import services


class Command(BaseCommand):
    help = "Create or update (idempotently) an organisation and its sites."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/London")
        parser.add_argument("--sites", default="", help="comma-separated site codes")

    def handle(self, *args, slug, name, timezone, sites, **options):
        codes = [code.strip() for code in sites.split(",") if code.strip()]
        try:
            organization, site_rows = services.organization_create_or_update(
                slug=slug, name=name, time_zone=timezone, sites=codes
            )
        except ValidationError as error:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            ) from None
        site_list = ", ".join(site.code for site in site_rows) or "none"
        self.stdout.write(
            f"Organisation {organization.slug} ({organization.time_zone}); sites: {site_list}"
        )
