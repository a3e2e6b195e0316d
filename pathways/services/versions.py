"""Pathway versions: import (all-or-nothing), activation, retirement."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from pathways.definitions import PathwayDefinition, parse_definition
from pathways.models import EscalationRule, Pathway, PathwayVersion, Step, TimeStandard


@transaction.atomic
def pathway_version_import(
    *, data: dict, created_by=None, activate: bool = False, rationale: str = ""
) -> PathwayVersion:
    """Creates a new draft version from a definition; raises DefinitionError (nothing stored)
    when any part of it is invalid."""
    definition = parse_definition(data)
    pathway = Pathway.objects.filter(slug=definition.slug).first()
    if pathway is None:
        pathway = Pathway.objects.create(slug=definition.slug, name=definition.name)
    elif pathway.name != definition.name:
        pathway.name = definition.name
        pathway.save(update_fields=["name"])
    number = (pathway.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = PathwayVersion.objects.create(
        pathway=pathway,
        number=number,
        name=definition.name,
        rationale=rationale,
        created_by=created_by,
    )
    _store_definition(version, definition)
    if activate:
        pathway_version_activate(version=version)
    return version


def _store_definition(version: PathwayVersion, definition: PathwayDefinition) -> None:
    steps = Step.objects.bulk_create(
        [
            Step(
                organization_id=version.organization_id,
                version=version,
                key=step.key,
                name=step.name,
                kind=step.kind,
                core=step.core,
                required_fields=list(step.required_fields),
                order=order,
            )
            for order, step in enumerate(definition.steps)
        ]
    )
    TimeStandard.objects.bulk_create(
        [
            TimeStandard(
                organization_id=version.organization_id,
                version=version,
                step=row,
                position=position,
                tiers=list(standard.tiers),
                anchor=standard.anchor,
                within_hours=standard.within_hours,
            )
            for row, step in zip(steps, definition.steps, strict=True)
            for position, standard in enumerate(step.time_standards)
        ]
    )
    EscalationRule.objects.bulk_create(
        [
            EscalationRule(
                organization_id=version.organization_id,
                version=version,
                key=rule.key,
                tiers=list(rule.tiers),
                missed_contacts=rule.missed_contacts,
                window_hours=rule.window_hours,
                escalate_within_hours=rule.escalate_within_hours,
                position=position,
            )
            for position, rule in enumerate(definition.escalation_rules)
        ]
    )


@transaction.atomic
def pathway_version_activate(*, version: PathwayVersion) -> PathwayVersion:
    """The pathway's active version retires and this one becomes active. Cases keep the version
    they were referred on."""
    if version.status != PathwayVersion.Status.DRAFT:
        raise ValidationError(f"{version} is {version.status}; only a draft can be activated.")
    for previous in PathwayVersion.objects.select_for_update().filter(
        pathway=version.pathway, status=PathwayVersion.Status.ACTIVE
    ):
        previous.status = PathwayVersion.Status.RETIRED
        previous.save(update_fields=["status"])
    version.status = PathwayVersion.Status.ACTIVE
    version.activated_at = timezone.now()
    version.save(update_fields=["status", "activated_at"])
    return version
