"""Acknowledging the replication package: every practitioner at a site acknowledges the package
of the version the site's new cases follow (the site's variant where its adaptations made one,
else the network's active version), per person per package version. Launch readiness reads it
(``package_acknowledged``); onboarding links to the package's parts."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pathways.models import PathwayVersion
from scaling_ops.models import Site
from workforce.models import CASELOAD_ROLES, PackageAcknowledgement, StaffMember, Team
from workforce.services.checks import staff_in_post

# Onboarding tasks (workforce.services.training.ONBOARDING_STEPS) and the package parts they
# use, as anchors of the printable package.
PARTS_BY_TASK_PREFIX = (
    ("Induction", [("Role descriptions", "roles"), ("Referral guidance", "referral-guidance")]),
    (
        "Shadow an experienced",
        [("Intake script", "intake-script"), ("Shadowing plan", "shadowing")],
    ),
    ("First supervision", [("Supervision checklist", "supervision")]),
    (
        "Shadowing plan",
        [("Shadowing plan", "shadowing"), ("Documentation templates", "documentation")],
    ),
    ("Supervised caseload", [("Documentation templates", "documentation")]),
    ("Complete training", [("Training modules required", "training")]),
)


def package_versions_for_site(site: Site) -> list[PathwayVersion]:
    """The versions whose package the site's practitioners must acknowledge: for each pathway
    the site's teams deliver (every pathway when none is named), the site's variant in use or
    else the active version, when it carries a package. Two queries."""
    pathway_ids = set(
        Team.objects.filter(site=site, pathway__isnull=False).values_list("pathway_id", flat=True)
    )
    versions = PathwayVersion.objects.filter(
        status__in=[PathwayVersion.Status.ACTIVE, PathwayVersion.Status.VARIANT]
    ).select_related("pathway", "variant_of")
    if pathway_ids:
        versions = versions.filter(pathway_id__in=pathway_ids)
    by_pathway: dict[int, PathwayVersion] = {}
    for version in versions.order_by("pathway__name"):
        if version.status == PathwayVersion.Status.VARIANT:
            if version.variant_site_id == site.pk and version.variant_of.status == "active":
                by_pathway[version.pathway_id] = version
        else:
            by_pathway.setdefault(version.pathway_id, version)
    return [version for version in by_pathway.values() if version.package]


@dataclass(frozen=True)
class PackageStatus:
    passed: bool
    detail: str
    missing: dict  # version -> [staff]


def package_acknowledgement_status(*, site: Site, today) -> PackageStatus:
    versions = package_versions_for_site(site)
    if not versions:
        return PackageStatus(True, "The pathways in use carry no replication package yet.", {})
    practitioners = list(
        staff_in_post(today).filter(site=site, role__in=CASELOAD_ROLES).order_by("name")
    )
    if not practitioners:
        return PackageStatus(False, "No practitioners are on the site's staff list yet.", {})
    standing = set(
        PackageAcknowledgement.objects.filter(
            staff__in=practitioners, version__in=versions, withdrawn_at__isnull=True
        ).values_list("staff_id", "version_id")
    )
    missing = {
        version: [p for p in practitioners if (p.pk, version.pk) not in standing]
        for version in versions
    }
    missing = {version: people for version, people in missing.items() if people}
    if missing:
        parts = [
            f"{version.pathway.name} v{version.number}: {len(people)} of {len(practitioners)} "
            f"still to acknowledge ({', '.join(p.name for p in people[:4])}"
            f"{' and more' if len(people) > 4 else ''})"
            for version, people in missing.items()
        ]
        return PackageStatus(False, "; ".join(parts) + ".", missing)
    names = ", ".join(f"{v.pathway.name} v{v.number}" for v in versions)
    return PackageStatus(
        True, f"All {len(practitioners)} practitioners acknowledged the package of {names}.", {}
    )


@transaction.atomic
def package_acknowledge(
    *, staff: StaffMember, version: PathwayVersion, by
) -> PackageAcknowledgement:
    """Records that ``staff`` has read and accepted ``version``'s package. Refused for a version
    without a package, or one the person's site does not follow."""
    if not version.package:
        raise ValidationError(
            f"{version.pathway.name} v{version.number} has no package to acknowledge."
        )
    if version.pk not in {v.pk for v in package_versions_for_site(staff.site)}:
        raise ValidationError(
            f"{staff.site.name}'s new cases do not follow {version.pathway.name} "
            f"v{version.number}; acknowledge the package of the version in use there."
        )
    acknowledgement = PackageAcknowledgement(
        staff=staff, version=version, acknowledged_at=timezone.now(), recorded_by=by
    )
    acknowledgement._history_user = by
    try:
        with transaction.atomic():
            acknowledgement.save()
    except IntegrityError:
        raise ValidationError(
            f"{staff.name} has already acknowledged the package of v{version.number}."
        ) from None
    return acknowledgement


@transaction.atomic
def package_acknowledgement_withdraw(
    *, acknowledgement: PackageAcknowledgement, by
) -> PackageAcknowledgement:
    locked = PackageAcknowledgement.objects.select_for_update().get(pk=acknowledgement.pk)
    if locked.withdrawn_at is not None:
        raise ValidationError("This acknowledgement was already withdrawn.")
    locked.withdrawn_at = timezone.now()
    locked.withdrawn_by = by
    locked._history_user = by
    locked.save(update_fields=["withdrawn_at", "withdrawn_by"])
    return locked


def staff_package_rows(*, staff: StaffMember) -> list[dict]:
    """For the staff page: each package the person must acknowledge and their standing one."""
    versions = package_versions_for_site(staff.site)
    standing = {
        row.version_id: row
        for row in PackageAcknowledgement.objects.filter(
            staff=staff, version__in=versions, withdrawn_at__isnull=True
        )
    }
    return [{"version": v, "acknowledgement": standing.get(v.pk)} for v in versions]


def onboarding_links(
    *, staff: StaffMember, tasks
) -> dict[int, list[tuple[str, PathwayVersion, str]]]:
    """task id -> [(part label, version, anchor)] linking each onboarding task to the parts of
    the package it uses."""
    versions = package_versions_for_site(staff.site)
    if staff.team_id and staff.team.pathway_id:
        versions = [v for v in versions if v.pathway_id == staff.team.pathway_id] or versions
    links = {}
    for task in tasks:
        for prefix, parts in PARTS_BY_TASK_PREFIX:
            if task.title.lower().startswith(prefix.lower()):
                links[task.pk] = [(label, v, anchor) for v in versions for label, anchor in parts]
                break
    return links
