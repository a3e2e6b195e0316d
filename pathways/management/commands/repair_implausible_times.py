"""``manage.py repair_implausible_times --org <slug> [--fix]``: lists the organisation's stored
rows dated outside the plausible window (cases' referral dates, events' dates), which every
computation leaves out; with ``--fix`` repairs them all or nothing
(``pathways.services.implausible_times`` says how and why)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from pathways.plausible_time import EARLIEST_PLAUSIBLE, latest_plausible
from pathways.selectors.obligations import implausible_cases, implausible_events
from pathways.services.implausible_times import implausible_times_repair
from pathways.wording import count_text
from scaling_ops import tenancy
from scaling_ops.models import Organization


class Command(BaseCommand):
    help = (
        "List an organisation's cases and events dated before 1900 or in the future; with "
        "--fix, delete such events and set such referral dates to when the case was received."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation slug")
        parser.add_argument(
            "--fix",
            action="store_true",
            help="repair them (all or nothing): delete the events, set the referral dates to "
            "when the platform received the case",
        )

    def handle(self, *args, org, fix, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            known = ", ".join(Organization.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No organisation with slug {org!r}; known: {known}.")
        now = timezone.now()
        zone = organization.zone
        self.stdout.write(
            f"{organization.slug}: checking cases' referral dates and events' dates against "
            f"{EARLIEST_PLAUSIBLE:%Y-%m-%d} to "
            f"{timezone.localtime(latest_plausible(now), zone):%Y-%m-%d %H:%M %Z} (now and the "
            "clock skew allowed)"
        )
        with tenancy.scope(organization):
            if fix:
                repair = implausible_times_repair(now=now)
                cases, events = repair.cases, repair.events
            else:
                cases, events = implausible_cases(now=now), implausible_events(now=now)
        for case in cases:
            line = (
                f"case {case['external_ref']} at {case['site_name']}: referral date stored as "
                f"{case['stored']}"
            )
            if fix:
                received = timezone.localtime(case["created_at"], zone)
                line += (
                    f"; set to {received:%Y-%m-%d %H:%M %Z}, when the platform received the case "
                    "(the partner can correct it by sending the case again)"
                )
            self.stdout.write(line)
        for event in events:
            step = f", step {event['step_key']}" if event["step_key"] else ""
            self.stdout.write(
                f"event {event['event_id']} ({event['what']}{step}) of case {event['case_ref']} "
                f"at {event['site_name']}: dated {event['stored']}"
                + ("; deleted (the partner can send it again with the right date)" if fix else "")
            )
        found = f"{count_text(len(cases), 'case')} and {count_text(len(events), 'event')}"
        if not (cases or events):
            self.stdout.write(f"{organization.slug}: no case or event dated outside the window.")
        elif fix:
            self.stdout.write(
                f"{organization.slug}: repaired {found}; the next computations include the "
                "repaired cases."
            )
        else:
            self.stdout.write(
                f"{organization.slug}: {found} dated outside the window, left out of every "
                "computation. Run again with --fix to repair them."
            )
