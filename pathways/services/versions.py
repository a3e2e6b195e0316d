"""Pathway versions and site adaptations: import (all-or-nothing), activation, retirement, and
the documented local variations of adaptable steps.

A version is a draft until it is activated; from then on it is immutable (its rows and its
definition), and it retires when a newer version is activated. Cases stay pinned to the version
they were referred on, so activation never touches them."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from pathways.definitions import DefinitionError, PathwayDefinition, ordered_tiers, parse_definition
from pathways.extension_points import adaptation_guards, version_retire_guards
from pathways.models import (
    EscalationRule,
    Pathway,
    PathwayVersion,
    SiteAdaptation,
    Step,
    TimeStandard,
)
from scaling_ops.models import Site

# Path segments under /o/<org>/pathways/ that are pages, not pathways: a pathway with one of
# these slugs could never be opened.
RESERVED_SLUGS = frozenset({"import"})


def _record(instance, *, by, reason: str) -> None:
    """Who and why for the history row the next save writes (outside a request too)."""
    if by is not None:
        instance._history_user = by
    instance._change_reason = reason


def pathway_version_ensure_editable(*, version: PathwayVersion) -> None:
    """Only a draft's definition may change; active and retired versions are evidence."""
    if version.status != PathwayVersion.Status.DRAFT:
        raise ValidationError(
            f"{version} is {version.get_status_display().lower()} and cannot change: only a "
            "draft version's steps, time standards and escalation rules can be edited. Import "
            "the change as a new version instead."
        )


@transaction.atomic
def pathway_version_import(
    *, data: dict, created_by=None, activate: bool = False, rationale: str = ""
) -> PathwayVersion:
    """A new draft version (activated when asked) from a definition. Raises DefinitionError,
    listing every problem with its path, when any part is invalid; then nothing is stored."""
    definition = parse_definition(data)
    if definition.slug in RESERVED_SLUGS:
        raise DefinitionError([("slug", f"{definition.slug!r} is reserved; choose another slug")])
    pathway = Pathway.objects.select_for_update().filter(slug=definition.slug).first()
    if pathway is None:
        pathway = Pathway.objects.create(slug=definition.slug, name=definition.name)
    elif pathway.name != definition.name:
        pathway.name = definition.name
        pathway.save(update_fields=["name"])
    number = (pathway.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    version = PathwayVersion(
        pathway=pathway,
        number=number,
        name=definition.name,
        rationale=rationale.strip(),
        created_by=created_by,
        front_door=definition.front_door_dict(),
    )
    _record(version, by=created_by, reason="imported as a draft")
    version.save()
    _store_definition(version, definition)
    if activate:
        pathway_version_activate(version=version, by=created_by)
    return version


@transaction.atomic
def pathway_version_replace_definition(
    *, version: PathwayVersion, data: dict, by=None
) -> PathwayVersion:
    """Replaces a draft's steps, time standards and escalation rules. Refused for an active or
    retired version; the slug must stay the version's pathway."""
    version = PathwayVersion.objects.select_for_update().get(pk=version.pk)
    pathway_version_ensure_editable(version=version)
    definition = parse_definition(data)
    if definition.slug != version.pathway.slug:
        raise DefinitionError(
            [("slug", f"must stay {version.pathway.slug!r}: this is a version of that pathway")]
        )
    TimeStandard.objects.filter(version=version).delete()
    EscalationRule.objects.filter(version=version).delete()
    Step.objects.filter(version=version).delete()
    version.name = definition.name
    version.front_door = definition.front_door_dict()
    _record(version, by=by, reason="definition replaced")
    version.save(update_fields=["name", "front_door"])
    _store_definition(version, definition)
    return version


def _store_definition(version: PathwayVersion, definition: PathwayDefinition) -> None:
    # bulk_create skips VersionPart.save(), so the draft-only rule is checked here as well.
    pathway_version_ensure_editable(version=version)
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
                tiers=ordered_tiers(standard.tiers),
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
                tiers=ordered_tiers(rule.tiers),
                missed_contacts=rule.missed_contacts,
                window_hours=rule.window_hours,
                escalate_within_hours=rule.escalate_within_hours,
                position=position,
            )
            for position, rule in enumerate(definition.escalation_rules)
        ]
    )


@transaction.atomic
def pathway_version_activate(*, version: PathwayVersion, by=None) -> PathwayVersion:
    """This draft becomes the pathway's active version and the previously active one retires,
    together. Cases keep the version they were referred on."""
    # Re-read under a lock so two admins pressing Activate cannot both succeed.
    locked = PathwayVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != PathwayVersion.Status.DRAFT:
        raise ValidationError(
            f"{locked} is {locked.get_status_display().lower()}; only a draft version can be "
            "activated. Import the definition again to make a new draft."
        )
    for previous in PathwayVersion.objects.select_for_update().filter(
        pathway_id=locked.pathway_id, status=PathwayVersion.Status.ACTIVE
    ):
        previous.status = PathwayVersion.Status.RETIRED
        _record(previous, by=by, reason=f"retired: superseded by v{locked.number}")
        previous.save(update_fields=["status"])
    locked.status = PathwayVersion.Status.ACTIVE
    locked.activated_at = timezone.now()
    _record(locked, by=by, reason="activated")
    locked.save(update_fields=["status", "activated_at"])
    version.status, version.activated_at = locked.status, locked.activated_at
    return version


@transaction.atomic
def pathway_version_retire(*, version: PathwayVersion, by=None) -> PathwayVersion:
    """Takes an active version out of use (new cases cannot be referred on the pathway until
    another version is activated) or abandons a draft. Pinned cases keep it."""
    locked = PathwayVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status == PathwayVersion.Status.RETIRED:
        raise ValidationError(f"{locked} is already retired.")
    blockers = [reason for guard in version_retire_guards.providers() for reason in guard(locked)]
    if blockers:
        raise ValidationError(blockers)
    was = locked.get_status_display().lower()
    locked.status = PathwayVersion.Status.RETIRED
    _record(locked, by=by, reason=f"retired (was {was})")
    locked.save(update_fields=["status"])
    version.status = locked.status
    return version


# --- site adaptations ----------------------------------------------------------------------------


def _active_step(pathway: Pathway, step_key: str) -> tuple[PathwayVersion, Step]:
    """The step in the pathway's active version, or ValidationError saying why it cannot vary."""
    version = pathway.versions.filter(status=PathwayVersion.Status.ACTIVE).first()
    if version is None:
        raise ValidationError(
            f"{pathway.name} has no active version; activate one before adapting its steps."
        )
    steps = list(version.steps.order_by("order"))
    step = next((row for row in steps if row.key == step_key), None)
    if step is None:
        adaptable = ", ".join(row.key for row in steps if not row.core) or "none"
        raise ValidationError(
            f"Step {step_key!r} does not exist in {pathway.name} v{version.number} (the active "
            f"version). Adaptable steps are: {adaptable}."
        )
    if step.core:
        raise ValidationError(
            f"Step {step.key!r} ({step.name}) is a core step of {pathway.name} "
            f"v{version.number}: core steps are protected and cannot vary by site. Propose a "
            "change to the pathway itself instead."
        )
    return version, step


@transaction.atomic
def site_adaptation_propose(
    *, site: Site, pathway: Pathway, step_key: str, what: str, why: str, by
) -> SiteAdaptation:
    """A proposed local variation of an adaptable step, waiting for a decision."""
    what, why = (what or "").strip(), (why or "").strip()
    missing = [name for name, text in (("what", what), ("why", why)) if not text]
    if missing:
        raise ValidationError(
            {name: "Say what is done differently and why the site needs it." for name in missing}
        )
    _active_step(pathway, step_key)
    blockers = [
        reason
        for guard in adaptation_guards.providers()
        for reason in guard(site, pathway, step_key)
    ]
    if blockers:
        raise ValidationError(blockers)
    adaptation = SiteAdaptation(
        site=site, pathway=pathway, step_key=step_key, what=what, why=why, proposed_by=by
    )
    _record(adaptation, by=by, reason="proposed")
    adaptation.save()
    return adaptation


@transaction.atomic
def site_adaptation_decide(*, adaptation: SiteAdaptation, approve: bool, by) -> SiteAdaptation:
    """Approves or rejects a proposal. Approval checks again that the step is still adaptable:
    a newer active version may have made it core since the proposal."""
    locked = SiteAdaptation.objects.select_for_update().get(pk=adaptation.pk)
    if locked.status != SiteAdaptation.Status.PROPOSED:
        raise ValidationError(
            f"This adaptation is already {locked.get_status_display().lower()}; only a proposed "
            "one can be decided."
        )
    if approve:
        _active_step(locked.pathway, locked.step_key)
        blockers = [
            reason
            for guard in adaptation_guards.providers()
            for reason in guard(locked.site, locked.pathway, locked.step_key)
        ]
        if blockers:
            raise ValidationError(blockers)
    locked.status = SiteAdaptation.Status.APPROVED if approve else SiteAdaptation.Status.REJECTED
    locked.decided_by = by
    locked.decided_at = timezone.now()
    _record(locked, by=by, reason="approved" if approve else "rejected")
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    for field in ("status", "decided_by", "decided_at"):
        setattr(adaptation, field, getattr(locked, field))
    return adaptation
