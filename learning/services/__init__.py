"""Writes of the learning app, one module per area; every service is importable from here."""

from learning.services.actions import (
    assurance_improvement_action_provider,
    improvement_action_create,
    improvement_action_raise_from_source,
    improvement_action_transition,
    improvement_action_update,
)
from learning.services.common import learning_record_publish
from learning.services.deviations import (
    deviation_log,
    deviation_update,
    deviations_from_accepted_exceptions,
)
from learning.services.proposals import (
    change_proposal_adopt,
    change_proposal_create,
    change_proposal_evaluate,
    change_proposal_reject,
    change_proposal_start_pilot,
)
from learning.services.reviews import (
    learning_review_create,
    learning_review_raise_action,
    learning_review_record_decisions,
)
from learning.services.settings import learning_settings_update

__all__ = [
    "assurance_improvement_action_provider",
    "change_proposal_adopt",
    "change_proposal_create",
    "change_proposal_evaluate",
    "change_proposal_reject",
    "change_proposal_start_pilot",
    "deviation_log",
    "deviation_update",
    "deviations_from_accepted_exceptions",
    "improvement_action_create",
    "improvement_action_raise_from_source",
    "improvement_action_transition",
    "improvement_action_update",
    "learning_record_publish",
    "learning_review_create",
    "learning_review_raise_action",
    "learning_review_record_decisions",
    "learning_settings_update",
]
