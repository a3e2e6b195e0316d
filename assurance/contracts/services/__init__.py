"""Contracts' writes, guards, evaluation and corrective clauses; callers import from here."""

from assurance.contracts.services.corrective import (
    corrective_clauses_check,
    corrective_process_update,
)
from assurance.contracts.services.editing import (
    PART_MODELS,
    check_term_targets,
    contract_part_delete,
    contract_save,
    contract_site_save,
    corrective_clause_save,
    funded_component_save,
    payment_band_save,
    performance_term_save,
    protected_component_save,
)
from assurance.contracts.services.evaluation import (
    contract_terms_evaluate,
    contracts_after_snapshot,
    contracts_evaluate_all,
    term_status,
)
from assurance.contracts.services.guards import contract_adaptation_guard, contract_retire_guard

__all__ = [
    "PART_MODELS",
    "check_term_targets",
    "contract_adaptation_guard",
    "contract_part_delete",
    "contract_retire_guard",
    "contract_save",
    "contract_site_save",
    "contract_terms_evaluate",
    "contracts_after_snapshot",
    "contracts_evaluate_all",
    "corrective_clause_save",
    "corrective_clauses_check",
    "corrective_process_update",
    "funded_component_save",
    "payment_band_save",
    "performance_term_save",
    "protected_component_save",
    "term_status",
]
