"""One triage life-cycle for the daily exception items and the workforce exceptions: closing
needs the same text and a closed exception of either kind is refused in the same words."""

import pytest
from django.core.exceptions import ValidationError

from pathways.models import ExceptionItem
from pathways.services.exception_triage import exception_item_accept, exception_item_resolve
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, at, build_version, overdue_case
from workforce.models import CheckKind, WorkforceException
from workforce.services import workforce_exception_accept, workforce_exception_resolve


def queue_item(personas) -> ExceptionItem:
    case = overdue_case(build_version(), personas.north, "C-1")
    return ExceptionItem.objects.create(
        case=case, obligation_key="C-1:intake", site=case.site, step="intake",
        kind="overdue_step", anchor_at=at(DAY), due_at=at(DAY, 9), first_reported_on=DAY,
        last_reported_on=DAY,
    )  # fmt: skip


def workforce_row(personas) -> WorkforceException:
    return WorkforceException.objects.create(
        site=personas.north, kind=CheckKind.SPAN, subject_key="staff:1", subject="X",
        detail="9 practitioners", first_seen_on=DAY, last_seen_on=DAY,
    )  # fmt: skip


# (make the row, resolve it, accept it): the two queues' services.
QUEUES = {
    "daily": (
        queue_item,
        lambda row, by, text: exception_item_resolve(item=row, by=by, note=text),
        lambda row, by, text: exception_item_accept(item=row, by=by, reason=text),
    ),
    "workforce": (
        workforce_row,
        lambda row, by, text: workforce_exception_resolve(row=row, by=by, note=text),
        lambda row, by, text: workforce_exception_accept(row=row, by=by, reason=text),
    ),
}


@pytest.fixture(params=QUEUES)
def queue(request, personas):
    make, resolve, accept = QUEUES[request.param]
    with tenancy.scope(personas.org):
        yield make(personas), resolve, accept


def test_a_closed_exception_is_refused_in_the_same_words(personas, queue):
    row, resolve, accept = queue
    resolve(row, personas.admin, "Called the family")
    with pytest.raises(ValidationError) as refused:
        accept(row, personas.admin, "Late but justified")
    assert refused.value.messages == [
        "This exception is already resolved; a closed exception cannot be triaged again."
    ]
    row.refresh_from_db()
    assert (row.status, row.note) == ("resolved", "Called the family")


@pytest.mark.parametrize(
    ("action", "field", "sentence"),
    [
        (1, "note", "Write the corrective action taken: it is kept with the exception's history."),
        (
            2,
            "reason",
            "Write why this deviation is justified: it is kept with the exception's history.",
        ),
    ],
)
def test_closing_without_the_text_names_the_field_in_the_same_words(
    personas, queue, action, field, sentence
):
    row = queue[0]
    with pytest.raises(ValidationError) as refused:
        queue[action](row, personas.admin, "  ")
    assert refused.value.message_dict == {field: [sentence]}
    row.refresh_from_db()
    assert row.status == "open"
    assert row.history.count() == 1  # created, never changed
