from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from scaling_ops import demo, tenancy


class Command(BaseCommand):
    help = "Build (or rebuild) the demo organisation with months of data and computed reports."

    def add_arguments(self, parser):
        parser.add_argument("--time-zone", default=settings.DEMO_TIME_ZONE)

    def handle(self, *args, time_zone, **options):
        def say(message: str) -> None:
            self.stdout.write(f"  {message}")
            self.stdout.flush()

        self.stdout.write("Building the demo organisation…")
        with transaction.atomic():
            context = demo.build_core(say, time_zone)
        with tenancy.scope(context.organization):
            for name, seeder in demo.seeders():
                self.stdout.write(f"- {name}")
                seeder(context)
        self.stdout.write(self.style.SUCCESS("Demo ready. Log in at http://127.0.0.1:8000/ as:"))
        for username, role, _, _ in demo.DEMO_USERS:
            self.stdout.write(f"  {role.label:<22} {username:<14} password: {demo.DEMO_PASSWORD}")
