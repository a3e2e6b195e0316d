"""The protected-core guards the pathways app consults (through its extension points) before
an adaptation is approved or a version retired: a live contract's protected step refuses both."""

from datetime import date

from django.utils import timezone

from assurance.contracts.models import (
    ContractSite,
    ProtectedComponent,
)
from pathways.models import Pathway, PathwayVersion
from scaling_ops.models import Organization, Site


def _today(organization_id: int) -> date:
    organization = Organization.objects.get(pk=organization_id)
    return timezone.localdate(timezone=organization.zone)


def contract_adaptation_guard(site: Site, pathway: Pathway, step_key: str) -> list[str]:
    """Refuses an adaptation of a protected step at a site a contract in force covers."""
    today = _today(site.organization_id)
    rows = (
        ProtectedComponent.objects.filter(
            pathway=pathway,
            step_key=step_key,
            contract__sites__site=site,
            contract__period_start__lte=today,
            contract__period_end__gte=today,
        )
        .select_related("contract")
        .order_by("contract__reference", "clause")
    )
    return [
        f"Refused by contract {row.contract.name}, clause {row.clause}: step {step_key!r} of "
        f"{pathway.name} is protected core at {site.name}"
        + (f" ({row.standard})" if row.standard else "")
        + " and cannot be traded away while the contract is in force "
        f"(until {row.contract.period_end:%Y-%m-%d})."
        for row in rows
    ]


def contract_retire_guard(version: PathwayVersion) -> list[str]:
    """Refuses retiring the active version that holds a protected step: the covered sites would
    have no version of the pathway to refer on. Activating a newer version is the way to
    change it (that retires this one as part of a controlled change)."""
    if version.status != PathwayVersion.Status.ACTIVE:
        return []
    today = _today(version.organization_id)
    keys = set(version.steps.values_list("key", flat=True))
    rows = (
        ProtectedComponent.objects.filter(
            pathway_id=version.pathway_id,
            step_key__in=keys,
            contract__period_start__lte=today,
            contract__period_end__gte=today,
        )
        .select_related("contract")
        .order_by("contract__reference", "clause")
    )
    sites = _covered_site_names([row.contract_id for row in rows])
    return [
        f"Refused by contract {row.contract.name}, clause {row.clause}: step {row.step_key!r} "
        f"of {version.pathway.name} is protected core at "
        f"{', '.join(sites.get(row.contract_id, [])) or 'its sites'}; retiring v{version.number} "
        "would take it out of use. Activate a new version that keeps the step instead."
        for row in rows
    ]


def _covered_site_names(contract_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for contract_id, name in (
        ContractSite.objects.filter(contract_id__in=contract_ids)
        .order_by("site__code")
        .values_list("contract_id", "site__name")
    ):
        names.setdefault(contract_id, []).append(name)
    return names


# --- monthly evaluation of terms ---------------------------------------------------------------
