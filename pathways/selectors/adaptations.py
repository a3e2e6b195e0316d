"""Reads of site adaptations, always narrowed to the member's sites."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from pathways.models import PathwayVersion, SiteAdaptation, Step
from scaling_ops.models import Membership
from scaling_ops.selectors import visible_sites

PAGE_SIZE = 25


@dataclass(frozen=True)
class AdaptationFilters:
    site: str = ""
    pathway: str = ""
    status: str = ""
    q: str = ""


def site_adaptation_list(
    *, membership: Membership, filters: AdaptationFilters = AdaptationFilters()
) -> QuerySet[SiteAdaptation]:
    adaptations = SiteAdaptation.objects.filter(site__in=visible_sites(membership)).select_related(
        "site", "pathway", "proposed_by", "decided_by"
    )
    if filters.site:
        adaptations = adaptations.filter(site__code=filters.site)
    if filters.pathway:
        adaptations = adaptations.filter(pathway__slug=filters.pathway)
    if filters.status:
        adaptations = adaptations.filter(status=filters.status)
    if filters.q:
        adaptations = adaptations.filter(
            Q(step_key__icontains=filters.q)
            | Q(what__icontains=filters.q)
            | Q(why__icontains=filters.q)
        )
    return adaptations.order_by("-created_at", "-id")


def site_adaptation_for_member(*, membership: Membership, pk: int) -> SiteAdaptation | None:
    """Missing and outside the member's sites are the same None (a 404)."""
    return (
        SiteAdaptation.objects.filter(pk=pk, site__in=visible_sites(membership))
        .select_related("site", "pathway", "proposed_by", "decided_by")
        .first()
    )


def site_adaptation_summary(*, membership: Membership) -> list[dict]:
    """Counts per site and pathway by status, without what was adapted or why: what a
    commissioner sees."""
    statuses = SiteAdaptation.Status
    return list(
        SiteAdaptation.objects.filter(site__in=visible_sites(membership))
        .values("site__code", "site__name", "pathway__slug", "pathway__name")
        .annotate(
            proposed=Count("id", filter=Q(status=statuses.PROPOSED)),
            approved=Count("id", filter=Q(status=statuses.APPROVED)),
            rejected=Count("id", filter=Q(status=statuses.REJECTED)),
            withdrawn=Count("id", filter=Q(status=statuses.WITHDRAWN)),
        )
        .order_by("site__code", "pathway__name")
    )


def site_adaptation_history(*, adaptation: SiteAdaptation):
    return adaptation.history.select_related("history_user").order_by(
        "-history_date", "-history_id"
    )


def adaptable_steps() -> list[Step]:
    """The adaptable steps of every active version, for the propose form."""
    return list(
        Step.objects.filter(version__status=PathwayVersion.Status.ACTIVE, core=False)
        .select_related("version__pathway")
        .order_by("version__pathway__name", "order")
    )


def step_names_by_pathway(adaptations) -> dict[tuple[int, str], str]:
    """(pathway id, step key) -> step name in the pathway's active version, for display."""
    pathway_ids = {a.pathway_id for a in adaptations}
    rows = Step.objects.filter(
        version__pathway_id__in=pathway_ids, version__status=PathwayVersion.Status.ACTIVE
    ).values_list("version__pathway_id", "key", "name")
    return {(pathway_id, key): name for pathway_id, key, name in rows}
