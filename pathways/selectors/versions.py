"""Reads of pathways and their versions: definitions rebuilt from rows in a fixed number of
queries, the pathway list with case counts, a version as a readable workflow, and diffs."""

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from pathways.definitions import (
    EscalationRule,
    PathwayDefinition,
    Step,
    TimeStandard,
    stored_front_door,
)
from pathways.models import EscalationRule as RuleRow
from pathways.models import Pathway, PathwayVersion
from pathways.models import Step as StepRow
from pathways.models import TimeStandard as StandardRow
from pathways.package import package_diff
from pathways.wording import Change, rule_text, standard_text, step_name, step_names, version_diff
from scaling_ops.models import Membership
from scaling_ops.selectors import visible_sites

__all__ = [
    "Change",
    "version_diff",
    "pathway_version_definitions",
    "pathway_version_definition",
    "pathway_version_diff",
]

PAGE_SIZE = 20


def pathway_version_definitions(version_ids) -> dict[int, PathwayDefinition]:
    """Definitions for many versions in four queries: what the engine takes."""
    versions = {
        v.pk: v for v in PathwayVersion.objects.filter(pk__in=version_ids).select_related("pathway")
    }
    standards = defaultdict(list)
    for row in StandardRow.objects.filter(version_id__in=versions).order_by("step_id", "position"):
        standards[row.step_id].append(
            TimeStandard(
                tuple(row.tiers) or ("low", "medium", "high"), row.anchor, row.within_hours
            )
        )
    steps = defaultdict(list)
    for row in StepRow.objects.filter(version_id__in=versions).order_by("version_id", "order"):
        steps[row.version_id].append(
            Step(
                row.key,
                row.name,
                row.kind,
                row.core,
                tuple(row.required_fields),
                tuple(standards[row.pk]),
            )
        )
    rules = defaultdict(list)
    for row in RuleRow.objects.filter(version_id__in=versions).order_by("version_id", "position"):
        rules[row.version_id].append(
            EscalationRule(
                row.key,
                tuple(row.tiers) or ("low", "medium", "high"),
                row.missed_contacts,
                row.window_hours,
                row.escalate_within_hours,
            )
        )
    return {
        pk: PathwayDefinition(
            version.pathway.slug,
            version.name,
            tuple(steps[pk]),
            tuple(rules[pk]),
            **stored_front_door(version.front_door, steps[pk]),
        )
        for pk, version in versions.items()
    }


def pathway_version_definition(version: PathwayVersion) -> PathwayDefinition:
    return pathway_version_definitions([version.pk])[version.pk]


def pathway_version_bundle(version: PathwayVersion) -> dict:
    """The version as one JSON bundle: its definition (API.md shape) with its replication
    package, what the importer takes back unchanged."""
    bundle = pathway_version_definition(version).to_dict()
    if version.package:
        bundle["package"] = version.package
    return bundle


def pathway_version_diff(*, old: PathwayVersion, new: PathwayVersion) -> list[Change]:
    definitions = pathway_version_definitions([old.pk, new.pk])
    return version_diff(definitions[old.pk], definitions[new.pk]) + package_diff(
        old.package or {}, new.package or {}
    )


# --- lookups -------------------------------------------------------------------------------------


def pathway_get(*, slug: str) -> Pathway | None:
    """Pathway definitions are organisation-wide: every member may read them."""
    return Pathway.objects.filter(slug=slug).first()


def pathway_version_get(*, pathway: Pathway, number: int) -> PathwayVersion | None:
    return pathway.versions.select_related("pathway", "created_by").filter(number=number).first()


def pathway_version_current(*, pathway: Pathway) -> PathwayVersion | None:
    """The active version, else the latest one."""
    versions = pathway.versions.select_related("pathway")
    return (
        versions.filter(status=PathwayVersion.Status.ACTIVE).first()
        or versions.order_by("-number").first()
    )


# --- the pathway list ----------------------------------------------------------------------------


def pathway_list(*, q: str = "", status: str = "") -> QuerySet[Pathway]:
    pathways = Pathway.objects.order_by("name", "slug")
    if q:
        pathways = pathways.filter(Q(name__icontains=q) | Q(slug__icontains=q))
    if status:
        pathways = pathways.filter(versions__status=status).distinct()
    return pathways


def pathway_versions_with_counts(
    *, membership: Membership, pathway_ids=None
) -> QuerySet[PathwayVersion]:
    """Versions with the number of cases pinned to each in the member's sites: one query."""
    versions = PathwayVersion.objects.select_related("pathway", "created_by").annotate(
        case_count=Count("cases", filter=Q(cases__site__in=visible_sites(membership)))
    )
    if pathway_ids is not None:
        versions = versions.filter(pathway_id__in=pathway_ids)
    return versions.order_by("pathway__name", "pathway__slug", "-number")


def attach_versions(pathways: list[Pathway], *, membership: Membership) -> list[Pathway]:
    """Sets ``version_rows`` (newest first), ``current`` and ``total_cases`` on each pathway."""
    by_pathway = defaultdict(list)
    for version in pathway_versions_with_counts(
        membership=membership, pathway_ids=[p.pk for p in pathways]
    ):
        by_pathway[version.pathway_id].append(version)
    for pathway in pathways:
        rows = by_pathway[pathway.pk]
        pathway.version_rows = rows
        pathway.current = next(
            (v for v in rows if v.status == PathwayVersion.Status.ACTIVE), rows[0] if rows else None
        )
        pathway.total_cases = sum(v.case_count for v in rows)
    return pathways


# --- one version ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowStep:
    number: int
    key: str
    name: str
    kind: str
    core: bool
    required_fields: tuple[str, ...]
    standards: list[str]


@dataclass(frozen=True)
class Workflow:
    definition: PathwayDefinition
    steps: list[WorkflowStep]
    rules: list[tuple[str, str]]  # (key, in words)

    @property
    def core_count(self) -> int:
        return sum(1 for step in self.steps if step.core)


def pathway_version_workflow(*, version: PathwayVersion) -> Workflow:
    """The version as a reader takes it in: numbered steps, standards and rules in words."""
    definition = pathway_version_definition(version)
    names = step_names(definition)
    steps = [
        WorkflowStep(
            number,
            step.key,
            step.name,
            step.kind,
            step.core,
            step.required_fields,
            [standard_text(standard, names) for standard in step.time_standards],
        )
        for number, step in enumerate(definition.steps, start=1)
    ]
    rules = [(rule.key, rule_text(rule)) for rule in definition.escalation_rules]
    return Workflow(definition, steps, rules)


def pathway_version_case_count(*, version: PathwayVersion, membership: Membership) -> int:
    return version.cases.filter(site__in=visible_sites(membership)).count()


@dataclass(frozen=True)
class SiteVariant:
    version: PathwayVersion
    changes: list[Change]


def pathway_version_site_variants(*, version: PathwayVersion) -> list[SiteVariant]:
    """Each site's variant in use of this version (or, for a variant, itself against its base),
    as a diff: definitions read together, one query for the variants."""
    if version.variant_of_id is not None:
        variants, base = [version], version.variant_of
    else:
        variants = list(
            version.variants.filter(status=PathwayVersion.Status.VARIANT)
            .select_related("variant_site", "pathway")
            .order_by("variant_site__code")
        )
        base = version
    if not variants:
        return []
    definitions = pathway_version_definitions([base.pk, *(v.pk for v in variants)])
    return [
        SiteVariant(
            variant,
            version_diff(definitions[base.pk], definitions[variant.pk])
            + package_diff(base.package or {}, variant.package or {}),
        )
        for variant in variants
    ]


def pathway_version_pilots(*, version: PathwayVersion):
    return version.pilots.prefetch_related("sites__site").order_by("-starts_at")


def pathway_version_history(*, version: PathwayVersion):
    return version.history.select_related("history_user").order_by("-history_date", "-history_id")


def step_names_in_use() -> dict[str, str]:
    """Step key -> the name the bound organisation's pathways give it (an active version's name
    first, else the newest version's), in one query: for pages, charts and CSVs that hold step
    keys from stored figures."""
    rows = StepRow.objects.values_list("key", "name", "version__status", "version__number")
    active = PathwayVersion.Status.ACTIVE
    names: dict[str, str] = {}
    for key, name, _status, _number in sorted(
        rows, key=lambda r: (r[2] != active, -r[3])
    ):  # an active version's name first, then the newest version's
        names.setdefault(key, name)
    return names


def step_choices(keys) -> list[tuple[str, str]]:
    """A select's choices for these step keys: each step by its pathway's name (a key no
    pathway names, e.g. an escalation rule's, in words), ordered by name."""
    names = step_names_in_use()
    labelled = {key: step_name(key, names) for key in keys}
    return sorted(labelled.items(), key=lambda choice: choice[1].casefold())
