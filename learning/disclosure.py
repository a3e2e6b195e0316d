"""The learning log's free-text fields, registered with the one disclosure rule
(``pathways.disclosure``: placeholder unless published, case refs redacted). Learning's records
carry their own ``published_to_commissioners`` flag, set by a supervisor, lead or admin on the
record's page. The rule's functions are re-exported so learning's views keep one import."""

from learning.models import ChangeProposal, Deviation, ImprovementAction, LearningReview
from pathways.disclosure import (
    CASE_REF,
    PLACEHOLDER,
    each_for_member,
    for_member,
    history_for_member,
    is_commissioner,
    redact,
    redact_ref_like,
    register_free_text,
    shown,
)

__all__ = [
    "CASE_REF",
    "FREE_TEXT",
    "PLACEHOLDER",
    "each_for_member",
    "for_member",
    "history_for_member",
    "is_commissioner",
    "redact",
    "redact_ref_like",
    "shown",
]

FREE_TEXT = {
    ImprovementAction: ("title", "description", "closure_evidence", "source_label"),
    Deviation: ("note",),
    LearningReview: ("title", "attendees", "decisions"),
    ChangeProposal: (
        "title",
        "change",
        "rationale",
        "evidence",
        "evaluation_summary",
        "decision_reason",
    ),
}
register_free_text(FREE_TEXT)
