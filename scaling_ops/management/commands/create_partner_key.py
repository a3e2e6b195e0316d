from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scaling_ops import services, tenancy
from scaling_ops.models import Organization, Site


class Command(BaseCommand):
    help = "Create a partner API key; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--sites", required=True, help="comma-separated site codes")

    def handle(self, *args, org, name, sites, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organisation {org!r}; create it with create_org first.")
        codes = [code.strip() for code in sites.split(",") if code.strip()]
        with tenancy.scope(organization):
            found = list(Site.objects.filter(code__in=codes))
            missing = sorted(set(codes) - {site.code for site in found})
            if missing:
                raise CommandError(f"Unknown site(s) in {org}: {', '.join(missing)}.")
            try:
                key, raw_key = services.partner_key_create(name=name, sites=found)
            except ValidationError as error:
                raise CommandError(
                    " ".join(m for ms in error.message_dict.values() for m in ms)
                ) from None
        self.stdout.write(
            f"Created key {key.name} for {org} (sites: {', '.join(codes)}). Store it now:"
        )
        self.stdout.write(raw_key)
