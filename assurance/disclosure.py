"""Assurance's free-text fields, registered with the one disclosure rule
(``pathways.disclosure``: a placeholder unless published, case refs redacted).

- A drift signal's response (coaching, extra supervision, the action reference) and its history
  reasons name the staff being coached and the cases behind the dip. No one can publish them yet,
  so a commissioner always reads the placeholder (the rule fails closed for a record without a
  ``published_to_commissioners`` flag).
- A joint improvement (corrective) process's progress and action reference, and its history
  reasons, are the same kind of working notes: the placeholder for commissioners.
- A snapshot's recompute reason is written for commissioners by design: the recompute form says
  it is shown to them, and it is the only account they get of why a month's signed-off figures
  changed.
- A contract's funded components' and corrective clauses' descriptions and its payment band
  names are written by a lead into the contract the commissioner signed: they are the
  contract's wording, for commissioners by design.
Case refs in text for commissioners by design are still redacted."""

from assurance.contracts.models import (
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    PaymentBand,
)
from assurance.models import AssuranceSnapshot, DriftSignal
from pathways.disclosure import register_free_text

FREE_TEXT = {
    DriftSignal: ("coaching", "extra_supervision", "improvement_action_ref"),
    CorrectiveProcess: ("progress", "improvement_action_ref"),
}
FOR_COMMISSIONERS = {
    AssuranceSnapshot: ("reason",),
    FundedComponent: ("description",),
    CorrectiveClause: ("description",),
    PaymentBand: ("name",),
}

register_free_text(FREE_TEXT)
register_free_text(FOR_COMMISSIONERS, by_design=True)
