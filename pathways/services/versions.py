"""Pathway versions and site adaptations: import (all-or-nothing), activation, retirement, and
the documented local variations of adaptable steps.

A version is a draft until it is activated; from then on it is immutable (its rows and its
definition), and it retires when a newer version is activated. Cases stay pinned to the version
they were referred on, so activation never touches them."""

import copy

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
from pathways.package import PackageError, parse_package
from pathways.selectors.versions import pathway_version_definitions
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
    listing every problem with its path, when any part is invalid; then nothing is stored.
    The replication package (``data["package"]``, pathways.package) is imported with it."""
    definition, package = _parse_with_package(data)
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
        package=package,
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
    definition, package = _parse_with_package(data)
    if definition.slug != version.pathway.slug:
        raise DefinitionError(
            [("slug", f"must stay {version.pathway.slug!r}: this is a version of that pathway")]
        )
    TimeStandard.objects.filter(version=version).delete()
    EscalationRule.objects.filter(version=version).delete()
    Step.objects.filter(version=version).delete()
    version.name = definition.name
    version.package = package
    version.front_door = definition.front_door_dict()
    _record(version, by=by, reason="definition replaced")
    version.save(update_fields=["name", "package", "front_door"])
    _store_definition(version, definition)
    return version


def _parse_with_package(data) -> tuple[PathwayDefinition, dict]:
    """The definition and its package, with the problems of both reported together."""
    raw_package = data.get("package") if isinstance(data, dict) else None
    definition_data = (
        {key: value for key, value in data.items() if key != "package"}
        if isinstance(data, dict)
        else data
    )
    errors: list[tuple[str, str]] = []
    definition = None
    try:
        definition = parse_definition(definition_data)
    except DefinitionError as error:
        errors.extend(error.errors)
    step_keys = (
        {step.key for step in definition.steps}
        if definition
        else {
            step.get("key")
            for step in (definition_data.get("steps") or [])
            if isinstance(step, dict)
        }
        if isinstance(definition_data, dict) and isinstance(definition_data.get("steps"), list)
        else set()
    )
    package = {}
    try:
        package = parse_package(raw_package, step_keys=step_keys)
    except PackageError as error:
        errors.extend(error.errors)
    if errors:
        raise DefinitionError(errors)
    return definition, package


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
def pathway_version_activate(
    *, version: PathwayVersion, by=None, reason: str = ""
) -> PathwayVersion:
    """This draft (or pilot) version becomes the pathway's active version and the previously
    active one retires, with the sites' variants of it, together; each site's approved
    adaptations are applied again to the new version. Cases keep the version they were referred
    on."""
    # Re-read under a lock so two admins pressing Activate cannot both succeed.
    locked = PathwayVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status not in (PathwayVersion.Status.DRAFT, PathwayVersion.Status.PILOT):
        raise ValidationError(
            f"{locked} is {locked.get_status_display().lower()}; only a draft version can be "
            "activated (a version in pilot, by adopting its pilot). Import the definition again "
            "to make a new draft."
        )
    for previous in PathwayVersion.objects.select_for_update().filter(
        pathway_id=locked.pathway_id,
        status__in=[PathwayVersion.Status.ACTIVE, PathwayVersion.Status.VARIANT],
    ):
        was_variant = previous.status == PathwayVersion.Status.VARIANT
        previous.status = PathwayVersion.Status.RETIRED
        _record(
            previous,
            by=by,
            reason=f"retired: {'its network version was ' if was_variant else ''}superseded by "
            f"v{locked.number}",
        )
        previous.save(update_fields=["status"])
    locked.status = PathwayVersion.Status.ACTIVE
    locked.activated_at = timezone.now()
    _record(locked, by=by, reason=reason or "activated")
    locked.save(update_fields=["status", "activated_at"])
    version.status, version.activated_at = locked.status, locked.activated_at
    # The sites' approved adaptations carry over to the new version where its step still allows.
    site_ids = (
        SiteAdaptation.objects.filter(
            pathway_id=locked.pathway_id, status=SiteAdaptation.Status.APPROVED
        )
        .order_by()
        .values_list("site_id", flat=True)
        .distinct()
    )
    for site in Site.objects.filter(pk__in=list(site_ids)):
        site_variant_rebuild(pathway=locked.pathway, site=site, by=by)
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
    *,
    site: Site,
    pathway: Pathway,
    step_key: str,
    what: str,
    why: str,
    by,
    standard_hours: list[float] | None = None,
    script: str = "",
) -> SiteAdaptation:
    """A proposed local variation of an adaptable step, waiting for a decision. What takes
    effect once approved: ``standard_hours`` (the step's time standards, in its order) and/or
    ``script`` (the step's local script)."""
    what, why = (what or "").strip(), (why or "").strip()
    script = (script or "").strip()
    missing = [name for name, text in (("what", what), ("why", why)) if not text]
    if missing:
        raise ValidationError(
            {name: "Say what is done differently and why the site needs it." for name in missing}
        )
    for name, text, limit in (("what", what, 4000), ("why", why, 4000), ("script", script, 4000)):
        if len(text) > limit:
            raise ValidationError({name: f"Keep it to {limit} characters (it has {len(text)})."})
    version, step = _active_step(pathway, step_key)
    standard_hours = _standard_hours(version, step, standard_hours or [])
    blockers = [
        reason
        for guard in adaptation_guards.providers()
        for reason in guard(site, pathway, step_key)
    ]
    if blockers:
        raise ValidationError(blockers)
    adaptation = SiteAdaptation(
        site=site,
        pathway=pathway,
        step_key=step_key,
        what=what,
        why=why,
        proposed_by=by,
        standard_hours=standard_hours,
        script=script,
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
    if approve:
        site_variant_rebuild(pathway=locked.pathway, site=locked.site, by=by)
    return adaptation


# Longer than a year is a typo, not a local time standard.
MAX_STANDARD_HOURS = 8760


def _standard_hours(version: PathwayVersion, step: Step, hours: list) -> list[float]:
    """The new hours for each of the step's time standards, checked; [] leaves them as they are."""
    if not hours:
        return []
    count = step.time_standards.count()
    if len(hours) != count:
        raise ValidationError(
            {
                "standard_hours": f"Step {step.key!r} has {count} time standard(s) in "
                f"{version.pathway.name} v{version.number}: give {count} value(s) in hours, in "
                "the step's order, or leave it empty to keep them."
            }
        )
    checked = []
    for value in hours:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = -1.0
        if not 0 < number <= MAX_STANDARD_HOURS:
            raise ValidationError(
                {
                    "standard_hours": f"{value!r} is not a time standard: use hours above 0 and "
                    f"at most {MAX_STANDARD_HOURS} (a year)."
                }
            )
        checked.append(number)
    return checked


def site_variant_rebuild(*, pathway: Pathway, site: Site, by=None) -> PathwayVersion | None:
    """The site's variant of the pathway's active version, from its approved adaptations that
    change something (time standards, script) on steps still adaptable there; the previous
    variant retires (its cases keep it). None when nothing varies: the site's new cases follow
    the network version."""
    active = pathway.versions.filter(status=PathwayVersion.Status.ACTIVE).first()
    for previous in PathwayVersion.objects.select_for_update().filter(
        pathway=pathway, variant_site=site, status=PathwayVersion.Status.VARIANT
    ):
        previous.status = PathwayVersion.Status.RETIRED
        _record(previous, by=by, reason="retired: the site's variant was rebuilt")
        previous.save(update_fields=["status"])
    if active is None:
        return None
    definition = pathway_version_definitions([active.pk])[active.pk].to_dict()
    steps = {step["key"]: step for step in definition["steps"]}
    package = copy.deepcopy(active.package or {})
    applied = []
    for adaptation in SiteAdaptation.objects.filter(
        pathway=pathway, site=site, status=SiteAdaptation.Status.APPROVED
    ).order_by("decided_at", "pk"):
        step = steps.get(adaptation.step_key)
        if step is None or step.get("core", True):
            continue
        changed = False
        standards = step.get("time_standards", [])
        if adaptation.standard_hours and len(adaptation.standard_hours) == len(standards):
            for standard, hours in zip(standards, adaptation.standard_hours, strict=True):
                standard["within_hours"] = hours
            changed = True
        if adaptation.script:
            templates = package.setdefault("documentation", {})
            templates.setdefault(adaptation.step_key, {})["script"] = adaptation.script
            changed = True
        if changed:
            applied.append(adaptation)
    if not applied:
        return None
    number = (pathway.versions.aggregate(top=Max("number"))["top"] or 0) + 1
    variant = PathwayVersion(
        pathway=pathway,
        number=number,
        name=active.name,
        rationale=f"{site.name}'s variant of v{active.number}, from its approved adaptations: "
        + "; ".join(f"{steps[a.step_key].get('name') or a.step_key}: {a.what}" for a in applied),
        created_by=by,
        variant_of=active,
        variant_site=site,
        package=package,
    )
    _record(variant, by=by, reason=f"built as {site.name}'s variant of v{active.number}")
    variant.save()
    _store_definition(variant, parse_definition(definition))
    variant.status = PathwayVersion.Status.VARIANT
    variant.activated_at = timezone.now()
    _record(variant, by=by, reason=f"in use for {site.name}'s new cases")
    variant.save(update_fields=["status", "activated_at"])
    return variant
