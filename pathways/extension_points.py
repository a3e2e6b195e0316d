"""Pathways' extension points: what the apps above pathways add to its pages and decisions
without pathways importing them (see scaling_ops/extensions.py for the mechanism and
docs/architecture.md for who registers what)."""

from collections.abc import Callable

from scaling_ops.extensions import ExtensionPoint, signal

triage_guards: ExtensionPoint[Callable[..., list[str]]] = ExtensionPoint(
    "triage_guards",
    defined_by="pathways",
    signature="(action: str, by: User, items: list[ExceptionItem]) -> list[str]  (reasons to "
    "refuse; empty allows)",
    doc="Refuse an assign / resolve / accept, e.g. a decision-authority matrix.",
)
queue_panels: ExtensionPoint[Callable[..., dict | None]] = ExtensionPoint(
    "queue_panels",
    defined_by="pathways",
    signature="(request, membership, sites) -> dict | None  (``template`` names the include, "
    "the dict is its ``panel``)",
    doc="Sections of the supervisor exception queue.",
)
item_links: ExtensionPoint[Callable[..., list]] = ExtensionPoint(
    "item_links",
    defined_by="pathways",
    signature="(request, item, detail: bool) -> list[pathways.item_links.ItemLink]  (no query "
    "per row when ``detail`` is False)",
    doc="Links and one-click buttons on each exception item (queue rows and the item's page).",
)
version_panels: ExtensionPoint[Callable[..., str]] = ExtensionPoint(
    "version_panels",
    defined_by="pathways",
    signature="(request, version) -> str  (escaped HTML, or empty)",
    doc="Panels on a pathway version's page (the proposal, evidence and evaluation behind it).",
)
assignee_directories: ExtensionPoint = ExtensionPoint(
    "assignee_directories",
    defined_by="pathways",
    signature="a pathways.assignees.Directory(prefix, people, find, case_owners), registered "
    "with ``key=<prefix>``",
    doc="Who an exception can be assigned to; one directory per key prefix (``user``, ``staff``).",
)
adaptation_guards: ExtensionPoint[Callable[..., list[str]]] = ExtensionPoint(
    "adaptation_guards",
    defined_by="pathways",
    signature="(site, pathway, step_key: str) -> list[str]  (reasons to refuse; empty allows)",
    doc="Refuse a site adaptation of a step, e.g. one a contract fixes.",
)
version_retire_guards: ExtensionPoint[Callable[..., list[str]]] = ExtensionPoint(
    "version_retire_guards",
    defined_by="pathways",
    signature="(version) -> list[str]  (reasons to refuse; empty allows)",
    doc="Refuse retiring a pathway version, e.g. one a contract still measures.",
)
# Workforce figures that assurance reads (DESIGN.md section 4a and the commissioners' workforce
# evidence). Workforce and assurance never import each other, so the point lives in the app
# both stand on: workforce registers, assurance asks; plain dicts cross, never staff rows.
workforce_pressure: ExtensionPoint[Callable[..., dict]] = ExtensionPoint(
    "workforce_pressure",
    defined_by="pathways",
    signature="(*, site_ids: list[int], days: list[date], zone) -> dict[site_id, dict]  (keys: "
    "caseload_sum, caseload_days, practitioner_days, practitioner_days_above, max_caseload, "
    "gap_fte_sum, establishment_fte_sum, vacancy_sum, establishment_days)",
    doc="Per site, sums over the organisation-local days of caseload per practitioner, "
    "practitioner-days above the standard's maximum and the staffing gap; the first provider "
    "is used. Without one, the snapshot has no workforce pressure figures.",
)
workforce_evidence: ExtensionPoint[Callable[..., dict]] = ExtensionPoint(
    "workforce_evidence",
    defined_by="pathways",
    signature="(*, site_ids: list[int], day: date, zone) -> dict[site_id, list[dict]]  (rows: "
    "code, label, numerator, denominator, value, unit, standard; aggregates, no names)",
    doc="The workforce evidence commissioners may read per site (supervision, training, skill "
    "mix, supervisor span, vacancy, caseload); the first provider is used.",
)
exception_items_triaged = signal(
    "exception_items_triaged",
    defined_by="pathways",
    arguments="sender=ExceptionItem, action: str, by: User, items: list[ExceptionItem]",
    doc="Sent once per triage call after it commits, with the items it changed.",
)
site_week_figures: ExtensionPoint[Callable[..., list]] = ExtensionPoint(
    "site_week_figures",
    defined_by="pathways",
    signature="(*, site, week_start: date, week_end: date, organization) -> list[SiteFigure]  "
    "(pathways.site_figures)",
    doc="A site's figures for one week, each linking to the page that shows it: the coaching "
    "agenda (workforce) reads them; pathways gives the exception figures, assurance failed "
    "audit answers and open drift signals (neither workforce nor assurance imports the other).",
)
drift_response_parts: ExtensionPoint[Callable[..., list]] = ExtensionPoint(
    "drift_response_parts",
    defined_by="pathways",
    signature="(*, source_key: str, site) -> list[ResponsePart]  (pathways.site_figures)",
    doc="The tracked parts of a drift signal's standard response held by other apps (workforce: "
    "the coaching session, the extra supervision), for the signal's page and its verdict.",
)
drift_response_opened = signal(
    "drift_response_opened",
    defined_by="pathways",
    arguments="sender=DriftSignal, source_key: str, site, opened_on: date, window_until: date, "
    "label: str",
    doc="Sent by assurance when a drift signal is raised, inside the organisation's scope: "
    "workforce schedules the coaching session and the extra supervision. Defined here because "
    "assurance and workforce both build on pathways and neither may import the other.",
)
follow_up_actions: ExtensionPoint[Callable[..., object]] = ExtensionPoint(
    "follow_up_actions",
    defined_by="pathways",
    signature="FollowUpLog(raise_action, actions_for)  (pathways.site_figures; the first is "
    "used): raise_action(*, source_model, source_id, source_label, site, title, owner, "
    "deadline, by) -> FollowUpAction; actions_for(*, source_model, source_ids) -> "
    "dict[source_id, list[FollowUpAction]]",
    doc="The improvement log, for records of apps that may not import learning (a coaching "
    "session's follow-up actions): an action raised from the record keeps its model name and "
    "id, and the record's page lists its actions.",
)
drift_response_part_done = signal(
    "drift_response_part_done",
    defined_by="pathways",
    arguments="sender=model class, source_key: str, site",
    doc="Sent when a part of a drift signal's response may have completed (a coaching session "
    "held, a supervision session recorded, a re-audit sample drawn): assurance judges the "
    "signal's recovery verdict again at once if the response has now run.",
)
