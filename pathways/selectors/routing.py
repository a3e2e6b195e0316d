"""Which pathway version a new case is pinned to, and why: the one rule every way in (the
partner API's case PUT, the demo's bulk loader) asks.

In order: a pilot of the pathway at the case's site whose period holds the referral
(``starts_at`` ≤ referral < ``ends_at``: a referral at the start instant is in the pilot, one at
the end instant is not), whether it still runs or was since adopted or ended (its period is cut
at the decision, so only referrals made while it ran are held); else, when the referral predates
the activation of the network's active version and an earlier version was active then (a
case first received late), that version; else the site's variant of the active version (its
approved adaptations); else the network's active version. So a case is pinned as it would have
been had it arrived at its referral."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from pathways.models import PathwayPilot, PathwayVersion, PilotSite

PILOT = "pilot"
SITE_VARIANT = "site_variant"
NETWORK = "network"


@dataclass(frozen=True)
class Route:
    version_id: int
    basis: str  # PILOT, SITE_VARIANT or NETWORK
    pilot_id: int | None = None


class ReferralRoutes:
    """Every pilot and variant of the organisation read once (three queries), then routed in
    memory: a bulk load of thousands of cases asks without a query per case."""

    def __init__(self) -> None:
        self.active = dict(
            PathwayVersion.objects.filter(status=PathwayVersion.Status.ACTIVE).values_list(
                "pathway__slug", "id"
            )
        )
        self.variants = {
            (slug, site_id): version_id
            for slug, site_id, version_id in PathwayVersion.objects.filter(
                status=PathwayVersion.Status.VARIANT,
                variant_of__status=PathwayVersion.Status.ACTIVE,
            ).values_list("pathway__slug", "variant_site_id", "id")
        }
        # Running pilots first, then the most recently started: only running pilots are kept
        # from overlapping, a decided one's period is cut at its decision.
        self.pilots: dict[tuple[str, int], list[tuple[datetime, datetime, int, int]]] = {}
        running = PathwayPilot.Status.RUNNING
        for slug, site_id, starts, ends, version_id, pilot_id, _ in sorted(
            PilotSite.objects.values_list(
                "pathway__slug",
                "site_id",
                "starts_at",
                "ends_at",
                "pilot__version_id",
                "pilot_id",
                "pilot__status",
            ),
            key=lambda row: (row[6] != running, -row[2].timestamp()),
        ):
            self.pilots.setdefault((slug, site_id), []).append((starts, ends, version_id, pilot_id))
        # The network's versions in the order they were activated (the active one last).
        self.activations: dict[str, list[tuple[datetime, int]]] = {}
        for slug, activated_at, version_id in (
            PathwayVersion.objects.filter(
                activated_at__isnull=False,
                variant_of__isnull=True,
                status__in=[PathwayVersion.Status.ACTIVE, PathwayVersion.Status.RETIRED],
            )
            .order_by("activated_at", "id")
            .values_list("pathway__slug", "activated_at", "id")
        ):
            self.activations.setdefault(slug, []).append((activated_at, version_id))

    def route(self, *, pathway_slug: str, site_id: int, referral_at: datetime) -> Route | None:
        """None when the pathway has no active version (and no pilot holds the referral)."""
        for starts, ends, version_id, pilot_id in self.pilots.get((pathway_slug, site_id), ()):
            if starts <= referral_at < ends:
                return Route(version_id, PILOT, pilot_id)
        earlier = self.version_at(pathway_slug, referral_at)
        if earlier is not None and earlier != self.active.get(pathway_slug):
            return Route(earlier, NETWORK)
        variant = self.variants.get((pathway_slug, site_id))
        if variant is not None:
            return Route(variant, SITE_VARIANT)
        active = self.active.get(pathway_slug)
        return Route(active, NETWORK) if active is not None else None

    def version_at(self, pathway_slug: str, referral_at: datetime) -> int | None:
        """The network version active at ``referral_at``: the last activated by then (None when
        the referral predates every recorded activation)."""
        found = None
        for activated_at, version_id in self.activations.get(pathway_slug, ()):
            if activated_at > referral_at:
                break
            found = version_id
        return found


def referral_route(*, pathway_slug: str, site_id: int, referral_at: datetime) -> Route | None:
    return ReferralRoutes().route(
        pathway_slug=pathway_slug, site_id=site_id, referral_at=referral_at
    )


def _when(moment: datetime, zone) -> str:
    return f"{timezone.localtime(moment, zone):%Y-%m-%d %H:%M}"


def case_version_reason(case) -> str:
    """Why the case follows its version, in words for the case page and the API."""
    version = case.version
    zone = case.organization.zone
    # A referral time outside the plausible window reaches the page as None: no pilot to name.
    pilot = case.referral_at and (
        PathwayPilot.objects.filter(
            version_id=version.pk,
            sites__site_id=case.site_id,
            sites__starts_at__lte=case.referral_at,
            sites__ends_at__gt=case.referral_at,
        )
        .values_list("starts_at", "ends_at")
        .first()
    )
    if pilot is not None:
        starts, ends = pilot
        return (
            f"Referred at {case.site.name} during the pilot of v{version.number} "
            f"({_when(starts, zone)} until {_when(ends, zone)}): pilot sites' new cases in the "
            "pilot period follow the pilot version."
        )
    if version.variant_site_id is not None:
        base = version.variant_of
        return (
            f"{case.site.name}'s site variant of v{base.number if base else '?'}: the site's "
            "approved adaptations apply to its new cases."
        )
    if (
        case.referral_at
        and version.activated_at
        and version.activated_at <= case.referral_at
        and version.status != version.Status.ACTIVE
    ):
        return (
            f"The network's version in use at the referral (v{version.number}, active from "
            f"{_when(version.activated_at, zone)}): cases follow the version in use when they "
            "were referred."
        )
    return f"The network's active version when the case was first received (v{version.number})."
