"""Contracts (issue 6): everything the contracts module plugs into, registered from
``AssuranceConfig.ready`` in one call so the assurance app's own wiring stays untouched."""


def _seed_contracts(context) -> None:
    from assurance.contracts.demo import seed_contracts

    seed_contracts(context)


def _evaluate_after_snapshot(sender, *, organization, month, snapshots, now, **kwargs) -> None:
    from assurance.contracts.services import contracts_after_snapshot

    contracts_after_snapshot(organization=organization, month=month, snapshots=snapshots, now=now)


def _adaptation_guard(site, pathway, step_key) -> list[str]:
    from assurance.contracts.services import contract_adaptation_guard

    return contract_adaptation_guard(site, pathway, step_key)


def _retire_guard(version) -> list[str]:
    from assurance.contracts.services import contract_retire_guard

    return contract_retire_guard(version)


def register_contracts() -> None:
    from assurance.extension_points import snapshot_computed
    from pathways.extension_points import adaptation_guards, version_retire_guards
    from scaling_ops.demo import DemoSeeder
    from scaling_ops.extension_points import (
        demo_seeders,
        home_cards,
        navigation,
        search_providers,
    )
    from scaling_ops.models import Role
    from scaling_ops.navigation import NavItem

    navigation.register(NavItem("Contracts", "contract_list", Role.values), order=45)
    home_cards.register(contract_cards, order=45)
    # After the monthly snapshots (order 400): the demo contracts are evaluated from them.
    demo_seeders.register(
        DemoSeeder("contracts: terms, bands, corrective clauses", _seed_contracts), order=450
    )
    snapshot_computed.connect(_evaluate_after_snapshot, dispatch_uid="contracts_after_snapshot")
    adaptation_guards.register(_adaptation_guard)
    version_retire_guards.register(_retire_guard)
    search_providers.register(contract_results, order=45)


def contract_results(membership, query: str) -> list:
    """Contracts for the header's search, by words of their name or reference, as far as the
    member reads them (a commissioner: the contracts that name them)."""
    from django.db.models import Q
    from django.urls import reverse

    from assurance.contracts import selectors
    from scaling_ops.search import PER_PROVIDER, SearchResult

    found = selectors.contracts_for(membership).filter(
        Q(name__icontains=query) | Q(reference__icontains=query)
    )[:PER_PROVIDER]
    org = membership.organization.slug
    return [
        SearchResult(
            "Contract",
            c.name,
            reverse("contract_detail", kwargs={"org": org, "pk": c.pk}),
            c.commissioner_name,
        )
        for c in found
    ]


def contract_cards(request, membership) -> list[dict]:
    from django.urls import reverse

    from assurance.contracts import selectors
    from scaling_ops.home import card

    contracts = selectors.contracts_for(membership)
    count = contracts.count()
    if not count:
        return []
    processes = selectors.corrective_processes(membership=membership, status="open").count()
    return [
        card(
            "Contracts",
            f"{count} contract{'s' if count != 1 else ''} in your view; {processes} joint "
            f"improvement process{'es' if processes != 1 else ''} open. See each term against "
            "performance, the payment statement and the corrective-action clauses.",
            reverse("contract_list", kwargs={"org": membership.organization.slug}),
            "Open contracts",
            "bad" if processes else "ok",
        )
    ]
