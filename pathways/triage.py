"""The one triage life-cycle of exceptions, for the daily exception items (here in pathways) and
the workforce exceptions alike: the statuses, which of them are open, what closing leads to and
what the person must write for it, and the one set of refusal messages, so both queues answer in
the same words."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from scaling_ops.forms import TEXT_MAX_LENGTH

OPEN, ASSIGNED, RESOLVED, ACCEPTED = "open", "assigned", "resolved", "accepted"
# Only an open exception can be triaged; a closed one stays closed.
OPEN_STATUSES = (OPEN, ASSIGNED)


@dataclass(frozen=True)
class Closing:
    """A transition from an open status to a closed one."""

    status: str
    field: str  # the form field that carries the person's text
    what: str  # what that text says, for one exception
    what_many: str  # and for several at once
    history_reason: str  # kept as the change reason of the history row

    def text(self, value: str | None, *, many: bool = False) -> str:
        value = (value or "").strip()
        if not value:
            what = self.what_many if many else self.what
            raise ValidationError(
                {self.field: f"Write {what}: it is kept with the exception's history."}
            )
        # The queues post the text straight to the services (no form), and it reaches pages,
        # CSVs and deviation notes: the same limit every form's text box has.
        if len(value) > TEXT_MAX_LENGTH:
            raise ValidationError(
                {
                    self.field: f"The {self.field} is {len(value):,} characters: keep it to "
                    f"{TEXT_MAX_LENGTH:,} (a summary, with the details in the case record)."
                }
            )
        return value


RESOLVE = Closing(
    status=RESOLVED,
    field="note",
    what="the corrective action taken",
    what_many="the corrective action taken",
    history_reason="Resolved with a corrective action",
)
ACCEPT = Closing(
    status=ACCEPTED,
    field="reason",
    what="why this deviation is justified",
    what_many="why these deviations are justified",
    history_reason="Accepted with a reason",
)


def check_open(row) -> None:
    """Refuses to triage ``row`` (any model with these statuses) once it is closed."""
    if row.status not in OPEN_STATUSES:
        raise ValidationError(
            f"This exception is already {row.get_status_display().lower()}; "
            "a closed exception cannot be triaged again."
        )
