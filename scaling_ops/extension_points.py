"""The platform core's extension points (see scaling_ops/extensions.py for the mechanism and
docs/architecture.md for who registers what)."""

from collections.abc import Callable

from scaling_ops.extensions import ExtensionPoint

home_cards: ExtensionPoint[Callable[..., list[dict]]] = ExtensionPoint(
    "home_cards",
    defined_by="scaling_ops",
    signature="(request, membership) -> list[dict]  (dicts from scaling_ops.home.card)",
    doc="Cards on the role's home page that say what to do next.",
)
navigation: ExtensionPoint = ExtensionPoint(
    "navigation",
    defined_by="scaling_ops",
    signature="a scaling_ops.navigation.NavItem(label, url_name, roles)",
    doc="Entries of the top navigation, shown to the roles named; the url takes ``org``.",
)
demo_seeders: ExtensionPoint = ExtensionPoint(
    "demo_seeders",
    defined_by="scaling_ops",
    signature="a scaling_ops.demo.DemoSeeder(name, seed) where seed(context: DemoContext) -> None",
    doc="``manage.py seed_demo`` runs each inside the demo organisation's scope, in order.",
)
demo_resetters: ExtensionPoint[Callable[..., None]] = ExtensionPoint(
    "demo_resetters",
    defined_by="scaling_ops",
    signature="(organization) -> None",
    doc="Clear rows an app protects from cascading deletion before the demo organisation is "
    "rebuilt; an app whose rows point at a lower app's rows runs first (lower order).",
)
site_transition_guards: ExtensionPoint[Callable[..., list[str]]] = ExtensionPoint(
    "site_transition_guards",
    defined_by="scaling_ops",
    signature="(site, new_status) -> list[str]  (reasons to refuse; empty allows)",
    doc="Gate a site's lifecycle move (the launch-readiness gate); an override reason passes.",
)
notice_sources: ExtensionPoint = ExtensionPoint(
    "notice_sources",
    defined_by="scaling_ops",
    signature="a scaling_ops.notifications.NoticeSource(name, kinds, collect) where "
    "collect(*, organization, today: date, now: datetime) -> list[NoticeDraft]",
    doc="What each app has to tell people today (reminders, digest sections); the platform "
    "picks the recipients by role and site, keeps each notice once and emails it.",
)
search_providers: ExtensionPoint[Callable[..., list]] = ExtensionPoint(
    "search_providers",
    defined_by="scaling_ops",
    signature="(membership, query) -> list[scaling_ops.search.SearchResult]",
    doc="The header's search box: each app finds what the member may open (a case by its ref, "
    "an improvement action, proposal or contract by its title).",
)
