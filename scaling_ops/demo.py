"""The demo organisation. Each app adds its data by registering a ``DemoSeeder`` into
``scaling_ops.extension_points.demo_seeders`` in ``AppConfig.ready`` (and, when its rows protect
others from cascading deletion, a resetter into ``demo_resetters``); ``manage.py seed_demo`` runs
them in order inside the demo organisation's scope."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model

from scaling_ops import services
from scaling_ops.extension_points import demo_resetters, demo_seeders
from scaling_ops.models import Organization, Role, Site

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_SITES = [
    # code, name, region, status: one site in each lifecycle state.
    ("north", "North Riverside", "Riverside County", Site.Status.LIVE),
    ("south", "South Valley", "Valley County", Site.Status.PAUSED),
    ("east", "East Harbour", "Riverside County", Site.Status.LAUNCHING),
    ("west", "West Moor", "Moor County", Site.Status.PLANNED),
]
DEMO_USERS = [
    # username, role, all sites, sites
    ("admin", Role.ORG_ADMIN, True, []),
    ("lead", Role.IMPLEMENTATION_LEAD, True, []),
    ("supervisor", Role.SUPERVISOR, False, ["north", "south"]),
    ("commissioner", Role.COMMISSIONER, False, ["north", "south", "east"]),
]


@dataclass
class DemoContext:
    organization: Organization
    sites: dict[str, Site]
    users: dict[str, object]
    say: Callable[[str], None]
    extra: dict = field(default_factory=dict)
    # progress(what, done, total): a long step's progress (seed_demo draws a bar).
    progress: Callable[[str, int, int], None] = lambda what, done, total: None


@dataclass(frozen=True)
class DemoSeeder:
    name: str  # what ``seed_demo`` says it is seeding
    seed: Callable[[DemoContext], None]


def seeders() -> list[tuple[str, Callable[[DemoContext], None]]]:
    return [(seeder.name, seeder.seed) for seeder in demo_seeders.providers()]


def build_core(
    say: Callable[[str], None],
    time_zone: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoContext:
    from scaling_ops import tenancy

    for existing in Organization.objects.filter(slug=DEMO_SLUG):
        with tenancy.scope(existing):
            for reset in demo_resetters.providers():
                reset(existing)
        existing.delete()
    organization, _ = services.organization_create_or_update(
        slug=DEMO_SLUG, name="Riverside Community Partnership", time_zone=time_zone
    )
    from scaling_ops import tenancy

    sites = {}
    with tenancy.scope(organization):
        for code, name, region, status in DEMO_SITES:
            sites[code] = Site.objects.create(code=code, name=name, region=region, status=status)
        users = {}
        for username, role, all_sites, site_codes in DEMO_USERS:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                user = get_user_model().objects.create_user(username=username)
            user.set_password(DEMO_PASSWORD)
            user.save()
            services.membership_set(
                user=user,
                organization=organization,
                role=role,
                all_sites=all_sites,
                sites=[sites[code] for code in site_codes],
            )
            users[username] = user
    say(f"organisation {organization.slug}: {len(sites)} sites, {len(users)} users")
    context = DemoContext(organization=organization, sites=sites, users=users, say=say)
    if progress is not None:
        context.progress = progress
    return context
