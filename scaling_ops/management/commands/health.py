from datetime import timedelta

from celery.utils.nodenames import default_nodename
from django.core.management.base import BaseCommand, CommandError

from scaling_ops import health


class Command(BaseCommand):
    help = (
        "Exit 0 when this host's Celery worker answers a ping (--worker) or Celery beat's "
        "heartbeat is fresh (--beat); else exit 1 saying why. The compose healthchecks."
    )
    # A probe answers about one process; an unrelated system check must not fail it.
    requires_system_checks = []

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--worker", action="store_true", help="ping this host's worker")
        which.add_argument("--beat", action="store_true", help="read beat's heartbeat")
        parser.add_argument(
            "--node",
            default=default_nodename(None),
            help="the worker's node name (default: Celery's for this host, %(default)s)",
        )
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds to wait")
        parser.add_argument(
            "--max-age-minutes",
            type=int,
            default=5,
            help="beat's heartbeat must be younger than this (it beats at least every minute)",
        )

    def handle(self, *args, worker, beat, node, timeout, max_age_minutes, **options):
        if worker:
            problem = health.worker_problem(node=node, timeout=timeout)
            healthy = f"The Celery worker {node} answered."
        else:
            problem = health.beat_problem(max_age=timedelta(minutes=max_age_minutes))
            healthy = "Celery beat's heartbeat is fresh."
        if problem:
            raise CommandError(problem)
        self.stdout.write(healthy)
