"""Pilot versions: a draft version put in use at named live sites for a period, so that the
change it carries is tried on real cases (pathways.selectors.routing pins them), then adopted
network-wide (the pilot version becomes the active one) or ended (it retires; its cases keep it).

Only one pilot of a pathway runs at a site at a time."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pathways.models import Pathway, PathwayPilot, PathwayVersion, PilotSite
from pathways.plausible_time import EARLIEST_PLAUSIBLE
from pathways.services.versions import _record, pathway_version_activate
from scaling_ops.models import Site

MAX_REASON = 4000
# Longer than two years is a typo in a year, not a pilot.
MAX_PILOT = timedelta(days=731)


@transaction.atomic
def pathway_pilot_start(
    *,
    version: PathwayVersion,
    sites: Iterable[Site],
    starts_at: datetime,
    ends_at: datetime,
    by=None,
    reason: str = "",
) -> PathwayPilot:
    """Puts a draft version in pilot at ``sites`` for [starts_at, ends_at). Refused, with every
    reason, when a site is not live, a site already pilots the pathway in an overlapping period,
    the period is empty, or the version is not a draft. Nothing is stored when refused."""
    # The pathway row is the lock that keeps two overlapping pilots from both passing the check.
    Pathway.objects.select_for_update().filter(pk=version.pathway_id).first()
    locked = PathwayVersion.objects.select_for_update().select_related("pathway").get(pk=version.pk)
    sites = sorted(set(sites), key=lambda site: site.code)
    errors: dict[str, list[str]] = {}
    if locked.status != PathwayVersion.Status.DRAFT:
        errors.setdefault("version", []).append(
            f"{locked} is {locked.get_status_display().lower()}; only a draft version can be "
            "put in pilot."
        )
    if not sites:
        errors.setdefault("sites", []).append("Name the live sites that pilot the version.")
    for site in sites:
        if site.status != Site.Status.LIVE:
            errors.setdefault("sites", []).append(
                f"{site.name} is {site.get_status_display().lower()}, not live: a pilot runs only "
                "at a live site, where cases are referred today."
            )
    if starts_at is None or ends_at is None or timezone.is_naive(starts_at):
        errors.setdefault("starts_at", []).append(
            "Give the pilot's start and end with a time zone."
        )
    elif ends_at <= starts_at:
        errors.setdefault("ends_at", []).append("The pilot must end after it starts.")
    elif starts_at < EARLIEST_PLAUSIBLE or ends_at - starts_at > MAX_PILOT:
        errors.setdefault("ends_at", []).append(
            f"A pilot runs from {EARLIEST_PLAUSIBLE:%Y-%m-%d} on and for at most "
            f"{MAX_PILOT.days} days; check the years of its start and end."
        )
    else:
        clashes = (
            PilotSite.objects.filter(
                pathway_id=locked.pathway_id,
                site__in=sites,
                pilot__status=PathwayPilot.Status.RUNNING,
                starts_at__lt=ends_at,
                ends_at__gt=starts_at,
            )
            .select_related("site", "pilot__version")
            .order_by("site__code")
        )
        for clash in clashes:
            errors.setdefault("sites", []).append(
                f"{clash.site.name} already pilots v{clash.pilot.version.number} of "
                f"{locked.pathway.name} in an overlapping period: only one pilot of a pathway "
                "per site at a time."
            )
    if errors:
        raise ValidationError(errors)
    pilot = PathwayPilot(
        pathway_id=locked.pathway_id,
        version=locked,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=by,
    )
    codes = ", ".join(site.code for site in sites)
    _record(pilot, by=by, reason=reason or f"pilot started at {codes}")
    pilot.save()
    PilotSite.objects.bulk_create(
        [
            PilotSite(
                organization_id=locked.organization_id,
                pilot=pilot,
                site=site,
                pathway_id=locked.pathway_id,
                starts_at=starts_at,
                ends_at=ends_at,
            )
            for site in sites
        ]
    )
    locked.status = PathwayVersion.Status.PILOT
    _record(locked, by=by, reason=reason or f"in pilot at {codes}")
    locked.save(update_fields=["status"])
    version.status = locked.status
    return pilot


def _close(pilot: PathwayPilot, *, status: str, reason: str, by) -> PathwayPilot:
    locked = PathwayPilot.objects.select_for_update().get(pk=pilot.pk)
    if locked.status != PathwayPilot.Status.RUNNING:
        raise ValidationError(
            f"This pilot is already {locked.get_status_display().lower()}; only a running pilot "
            "can be adopted or ended."
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the decision is kept with the version."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Keep the reason to {MAX_REASON} characters."})
    now = timezone.now()
    locked.status = status
    locked.decision_reason = reason
    locked.decided_at = now
    # The period ends now if it has not already: the record says how long the pilot really ran.
    if locked.ends_at > now:
        locked.ends_at = max(now, locked.starts_at)
        PilotSite.objects.filter(pilot=locked).update(ends_at=locked.ends_at)
    _record(locked, by=by, reason=reason)
    locked.save(update_fields=["status", "decision_reason", "decided_at", "ends_at"])
    return locked


@transaction.atomic
def pathway_pilot_adopt(
    *, pilot: PathwayPilot, by=None, reason: str, rationale: str = ""
) -> PathwayVersion:
    """The pilot version becomes the network's active version (the previous one retires); the
    version's rationale and history carry the decision."""
    locked = _close(pilot, status=PathwayPilot.Status.ADOPTED, reason=reason, by=by)
    version = PathwayVersion.objects.select_for_update().get(pk=locked.version_id)
    if rationale:
        version.rationale = rationale.strip()
        _record(version, by=by, reason="rationale: the pilot's evidence and decision")
        version.save(update_fields=["rationale"])
    pathway_version_activate(
        version=version,
        by=by,
        reason=f"adopted network-wide after its pilot: {locked.decision_reason}",
    )
    pilot.status, pilot.ends_at = locked.status, locked.ends_at
    return version


@transaction.atomic
def pathway_pilot_end(*, pilot: PathwayPilot, by=None, reason: str) -> PathwayPilot:
    """Ends a pilot without adopting it: the pilot version retires (its cases keep it) and the
    pilot sites' new cases follow the network version again."""
    locked = _close(pilot, status=PathwayPilot.Status.REJECTED, reason=reason, by=by)
    version = PathwayVersion.objects.select_for_update().get(pk=locked.version_id)
    version.status = PathwayVersion.Status.RETIRED
    _record(
        version, by=by, reason=f"retired: pilot ended without adoption: {locked.decision_reason}"
    )
    version.save(update_fields=["status"])
    pilot.status, pilot.ends_at = locked.status, locked.ends_at
    return locked


def pilot_running_for_version(*, version: PathwayVersion) -> PathwayPilot | None:
    return version.pilots.filter(status=PathwayPilot.Status.RUNNING).first()
