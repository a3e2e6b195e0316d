"""Reads of pathway versions: the definition rebuilt from rows in a fixed number of queries."""

from collections import defaultdict

from pathways.definitions import EscalationRule, PathwayDefinition, Step, TimeStandard
from pathways.models import EscalationRule as RuleRow
from pathways.models import PathwayVersion
from pathways.models import Step as StepRow
from pathways.models import TimeStandard as StandardRow


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
            version.pathway.slug, version.name, tuple(steps[pk]), tuple(rules[pk])
        )
        for pk, version in versions.items()
    }


def pathway_version_definition(version: PathwayVersion) -> PathwayDefinition:
    return pathway_version_definitions([version.pk])[version.pk]
