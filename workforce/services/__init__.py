"""Writes for the workforce app: keyword-only, typed, named ``<entity>_<action>``."""

from workforce.services.authority import (
    authority_refusals,
    case_decision_record,
    standard_for,
    triage_accept_guard,
    workforce_standard_save,
)
from workforce.services.checks import (
    workforce_checks_compute,
    workforce_exception_accept,
    workforce_exception_resolve,
)
from workforce.services.establishment import team_establishment_set
from workforce.services.readiness import (
    checklist_template_activate,
    checklist_template_ensure,
    checklist_template_new_version,
    readiness_attest,
    readiness_evaluate,
    readiness_gate,
    readiness_withdraw,
    site_go_live,
)
from workforce.services.staff import (
    case_assign,
    staff_create,
    staff_update,
    team_create,
    team_set_supervisor,
)
from workforce.services.supervision import (
    review_population,
    review_sample_draw,
    supervision_session_record,
)
from workforce.services.training import (
    onboarding_plan_generate,
    onboarding_task_complete,
    training_completion_record,
    training_module_create,
)

__all__ = [
    "team_establishment_set",
    "authority_refusals",
    "case_assign",
    "case_decision_record",
    "checklist_template_activate",
    "checklist_template_ensure",
    "checklist_template_new_version",
    "onboarding_plan_generate",
    "onboarding_task_complete",
    "readiness_attest",
    "readiness_evaluate",
    "readiness_gate",
    "readiness_withdraw",
    "review_population",
    "review_sample_draw",
    "site_go_live",
    "staff_create",
    "staff_update",
    "standard_for",
    "supervision_session_record",
    "team_create",
    "team_set_supervisor",
    "training_completion_record",
    "training_module_create",
    "triage_accept_guard",
    "workforce_checks_compute",
    "workforce_exception_accept",
    "workforce_exception_resolve",
    "workforce_standard_save",
]
