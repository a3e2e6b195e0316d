"""Contracts (issue 6): everything the contracts module plugs into, registered from
``AssuranceConfig.ready`` in one call so the assurance app's own wiring stays untouched."""


def _seed_contracts(context) -> None:
    from assurance.contracts.demo import seed_contracts

    seed_contracts(context)


def _evaluate_after_snapshot(**kwargs) -> None:
    from assurance.contracts.services import contracts_after_snapshot

    contracts_after_snapshot(**kwargs)


def _adaptation_guard(site, pathway, step_key) -> list[str]:
    from assurance.contracts.services import contract_adaptation_guard

    return contract_adaptation_guard(site, pathway, step_key)


def _retire_guard(version) -> list[str]:
    from assurance.contracts.services import contract_retire_guard

    return contract_retire_guard(version)


def register_contracts() -> None:
    from assurance.services import snapshots
    from pathways.services import versions
    from scaling_ops import demo, home, navigation
    from scaling_ops.models import Role

    navigation.register("Contracts", "contract_list", Role.values, order=45)
    home.register(contract_cards, order=45)
    # After the monthly snapshots (order 400): the demo contracts are evaluated from them.
    demo.register("contracts: terms, bands, corrective clauses", _seed_contracts, order=450)
    if _evaluate_after_snapshot not in snapshots.snapshot_computed_hooks:
        snapshots.snapshot_computed_hooks.append(_evaluate_after_snapshot)
    if _adaptation_guard not in versions.adaptation_guards:
        versions.adaptation_guards.append(_adaptation_guard)
    if _retire_guard not in versions.version_retire_guards:
        versions.version_retire_guards.append(_retire_guard)


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
