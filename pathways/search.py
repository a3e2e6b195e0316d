"""Cases for the header's search (scaling_ops.search): by the start of their ref, at the member's
sites, for the roles that may open a case (commissioners never see one)."""

from django.urls import reverse

from pathways.models import Case
from scaling_ops.access import WRITE_ROLES
from scaling_ops.search import PER_PROVIDER, SearchResult
from scaling_ops.selectors import visible_sites


def case_results(membership, query: str) -> list[SearchResult]:
    if membership.role not in WRITE_ROLES:
        return []
    found = (
        Case.objects.filter(site__in=visible_sites(membership), external_ref__istartswith=query)
        .select_related("site")
        .order_by("external_ref")[:PER_PROVIDER]
    )
    org = membership.organization.slug
    return [
        SearchResult(
            "Case",
            case.external_ref,
            reverse("case_detail", kwargs={"org": org, "external_ref": case.external_ref}),
            f"{case.site.name} · {case.get_risk_tier_display()} risk",
        )
        for case in found
    ]
