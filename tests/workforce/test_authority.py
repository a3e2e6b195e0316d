"""The decision-authority matrix on the actions it governs: accepting a deviation in the
exception queue (a triage guard), accepting a workforce deviation, closing a case and approving
an escalation."""

import pytest
from django.core.exceptions import ValidationError

from pathways.models import ExceptionItem
from pathways.services.exception_triage import exception_item_accept, exception_items_bulk_accept
from tests.factories import UserFactory
from tests.pathways.exception_helpers import DAY, at, build_version, overdue_case
from tests.workforce.conftest import person
from workforce.models import CaseDecision, CheckKind, Decision, StaffRole, WorkforceException
from workforce.services import (
    case_decision_record,
    workforce_exception_accept,
    workforce_standard_save,
)


def item_for(case) -> ExceptionItem:
    return ExceptionItem.objects.create(
        case=case, obligation_key=f"{case.external_ref}:intake", site=case.site, step="intake",
        kind="overdue_step", anchor_at=at(DAY), due_at=at(DAY, 9), first_reported_on=DAY,
        last_reported_on=DAY,
    )  # fmt: skip


@pytest.fixture
def queue_item(personas, wf):
    return item_for(overdue_case(build_version(), personas.north, "C-1"))


def practitioner_user(personas, wf, role=StaffRole.PRACTITIONER):
    user = UserFactory(username=f"user-{role}")
    person(personas, wf["team"], f"P {role}", role=role, user=user)
    return user


def test_a_supervisor_on_the_site_staff_may_accept_a_deviation(personas, wf, queue_item):
    exception_item_accept(item=queue_item, by=personas.supervisor, reason="Patient in hospital")
    assert queue_item.status == ExceptionItem.Status.ACCEPTED


def test_a_practitioner_may_not_accept_a_deviation(personas, wf, queue_item):
    user = practitioner_user(personas, wf)
    with pytest.raises(ValidationError) as refused:
        exception_item_accept(item=queue_item, by=user, reason="Fine")
    assert refused.value.messages == [
        "Accept a deviation at North is for supervisor, clinical lead under the workforce "
        "standard; you are practitioner."
    ]
    queue_item.refresh_from_db()
    assert queue_item.status == ExceptionItem.Status.OPEN


def test_staff_of_another_site_hold_no_authority_here(personas, wf, queue_item):
    # The implementation lead is on no staff list: the matrix names them nothing.
    with pytest.raises(ValidationError, match="you are not on its staff list"):
        exception_item_accept(item=queue_item, by=personas.lead, reason="Fine")


def test_bulk_accept_is_governed_too(personas, wf, queue_item):
    with pytest.raises(ValidationError):
        exception_items_bulk_accept(items=[queue_item], by=personas.lead, reason="Fine")


def test_org_admins_hold_every_authority(personas, wf, queue_item):
    exception_item_accept(item=queue_item, by=personas.admin, reason="Agreed at board")
    assert queue_item.status == ExceptionItem.Status.ACCEPTED


def test_without_an_adopted_standard_the_matrix_is_not_in_force(personas, wf, queue_item):
    wf["standard"].delete()
    exception_item_accept(item=queue_item, by=personas.lead, reason="Fine")
    assert queue_item.status == ExceptionItem.Status.ACCEPTED


def test_changing_the_matrix_changes_who_may_accept(personas, wf, queue_item):
    user = practitioner_user(personas, wf, StaffRole.SENIOR_PRACTITIONER)
    with pytest.raises(ValidationError):
        exception_item_accept(item=queue_item, by=user, reason="Fine")
    authority = dict(wf["standard"].authority)
    authority[Decision.ACCEPT_DEVIATION] = ["senior_practitioner", "supervisor"]
    workforce_standard_save(authority=authority, by=personas.admin)
    queue_item.refresh_from_db()  # the refused call left its in-memory status changed
    exception_item_accept(item=queue_item, by=user, reason="Fine")
    assert queue_item.status == ExceptionItem.Status.ACCEPTED


def test_accepting_a_workforce_deviation_follows_the_matrix(personas, wf):
    row = WorkforceException.objects.create(
        site=personas.north, kind=CheckKind.SPAN, subject_key="staff:1", subject="X",
        detail="9 practitioners", first_seen_on=DAY, last_seen_on=DAY,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="Accept a deviation at North"):
        workforce_exception_accept(row=row, by=practitioner_user(personas, wf), reason="Leave")
    workforce_exception_accept(row=row, by=personas.supervisor, reason="Cover for leave")
    assert row.status == WorkforceException.Status.ACCEPTED


@pytest.mark.parametrize(
    "role, decision, allowed",
    [
        (StaffRole.PRACTITIONER, Decision.CLOSE_CASE, False),
        (StaffRole.SENIOR_PRACTITIONER, Decision.CLOSE_CASE, True),
        (StaffRole.SENIOR_PRACTITIONER, Decision.APPROVE_ESCALATION, False),
        (StaffRole.CLINICAL_LEAD, Decision.APPROVE_ESCALATION, True),
    ],
)
def test_case_decisions_follow_the_matrix(personas, wf, role, decision, allowed):
    case = overdue_case(build_version(), personas.north, "C-2")
    user = practitioner_user(personas, wf, role)
    if allowed:
        recorded = case_decision_record(case=case, decision=decision, by=user, note="Goals met")
        assert recorded.authority == role
    else:
        with pytest.raises(ValidationError):
            case_decision_record(case=case, decision=decision, by=user, note="Goals met")
        assert CaseDecision.objects.count() == 0
