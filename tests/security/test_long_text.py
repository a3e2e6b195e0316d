"""Overlong text never gives a 500: on the five routes whose text went into history's
change-reason column (then 100 characters), ~300 and ~10,000 characters are either refused by
the form with a message naming the field or stored whole; every free-text box has a limit."""

import pytest
from django import forms as django_forms
from django.urls import reverse

import assurance.contracts.forms as contract_forms
import assurance.forms as assurance_forms
import learning.forms as learning_forms
import workforce.forms as workforce_forms
from assurance.contracts.models import PaymentBand
from learning.models import ImprovementAction, LearningReview
from pathways.models import ExceptionItem
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from scaling_ops.forms import TEXT_MAX_LENGTH
from scaling_ops.models import Site
from tests.assurance.contract_helpers import make_contract
from tests.pathways.exception_helpers import DAY, build_version, overdue_case
from tests.workforce.conftest import person, wf  # noqa: F401 (a fixture used below)

MEDIUM, HUGE = "m" * 300, "h" * 10_000


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def refused(response, field_text: str) -> None:
    """Re-rendered with the form's message (never a 500, never a redirect as if saved)."""
    assert response.status_code in (200, 400)
    assert "Ensure this value has at most" in response.content.decode()
    assert field_text in response.content.decode()


@pytest.mark.parametrize("length", [200, 300, 10_000])
def test_action_source_label(personas, length):
    label = "L" * length
    response = personas.client(personas.lead).post(
        url(personas, "learning_action_new"),
        {"title": "Re-train on intake", "source_kind": "audit", "source_label": label,
         "owner": personas.lead.pk, "deadline": "2026-12-01", "site": ""},
    )  # fmt: skip
    with tenancy.scope(personas.org):
        if length <= 200:
            assert response.status_code == 302
            action = ImprovementAction.objects.get()
            assert action.source_label == label
            assert action.history.count() >= 1
        else:
            refused(response, "Linked record")
            assert not ImprovementAction.objects.exists()


@pytest.mark.parametrize("length", [200, 300, 10_000])
def test_learning_review_title(personas, length):
    title = "T" * length
    response = personas.client(personas.lead).post(
        url(personas, "learning_review_new"),
        {"title": title, "cadence": "quarterly", "period_start": "2026-01-01",
         "period_end": "2026-03-31", "held_on": "2026-04-05",
         "sites": ["north", "south"], "measures": ["timeliness"]},
    )  # fmt: skip
    with tenancy.scope(personas.org):
        if length <= 200:
            assert response.status_code == 302
            assert LearningReview.objects.get().title == title
        else:
            refused(response, "Title")
            assert not LearningReview.objects.exists()


@pytest.mark.parametrize("reason", [MEDIUM, HUGE])
def test_site_status_override_reason(personas, reason):
    response = personas.client(personas.admin).post(
        url(personas, "site_detail", code="north"),
        {"status": "paused", "override_reason": reason},
    )
    with tenancy.scope(personas.org):
        north = Site.objects.get(code="north")
        if len(reason) <= TEXT_MAX_LENGTH:
            assert response.status_code == 302
            assert north.status == "paused"
            assert north.history.latest("history_date").history_change_reason == reason
        else:
            refused(response, "Override reason")
            assert north.status == "live"


@pytest.mark.parametrize("length", [120, 300, 10_000])
def test_contract_payment_band_name(personas, length):
    name = "B" * length
    with tenancy.scope(personas.org):
        contract, _term, _clause = make_contract(personas, by=personas.lead)
        before = PaymentBand.objects.count()
    response = personas.client(personas.lead).post(
        url(personas, "contract_part_add", pk=contract.pk, kind="band"),
        {"name": name, "activity": "referrals", "risk_tier": "", "unit_rate": "120.00",
         "order": "1"},
    )  # fmt: skip
    with tenancy.scope(personas.org):
        if length <= 120:
            assert response.status_code == 302
            band = PaymentBand.objects.get(name=name)
            assert name in band.history.latest("history_date").history_change_reason
        else:
            refused(response, "Name")
            assert PaymentBand.objects.count() == before


@pytest.mark.parametrize("assignee", ["staff", "x" * 300, "y" * 10_000])
def test_exception_assignee_name(personas, wf, assignee):  # noqa: F811 (the fixture)
    """The name shown comes from the staff record (up to 200 characters); a made-up key of any
    length is refused by name."""
    with tenancy.scope(personas.org):
        overdue_case(build_version(), personas.north, "C-N1")
        exception_report_compute(organization=personas.org, date=DAY)
        target = ExceptionItem.objects.get()
        long_name = "N" * 200
        staff = person(personas, wf["team"], long_name)
    key = f"staff:{staff.pk}" if assignee == "staff" else assignee
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_assign", pk=target.pk), {"assignee": key}
    )
    assert response.status_code < 500
    with tenancy.scope(personas.org):
        target.refresh_from_db()
        if assignee == "staff":
            # Shortened to its column (PostgreSQL refuses a longer value), whole in the history.
            assert target.assignee_name == long_name[:199] + "…"
            reason = target.history.latest("history_date").history_change_reason
            assert long_name in reason
        else:
            assert target.status == "open" and target.assignee_name == ""


def test_free_text_boxes_of_learning_assurance_and_workforce_forms_have_a_limit():
    """Every character field of these forms is bounded (a TextField's box by TEXT_MAX_LENGTH)."""
    unbounded = [
        f"{form_class.__name__}.{name}"
        for module in (learning_forms, assurance_forms, contract_forms, workforce_forms)
        for form_class in vars(module).values()
        if isinstance(form_class, type)
        and issubclass(form_class, django_forms.BaseForm)
        and form_class.__module__ == module.__name__
        for name, field in form_class.base_fields.items()
        if isinstance(field, django_forms.CharField) and field.max_length is None
    ]
    assert unbounded == []


def test_a_snapshot_recompute_reason_over_its_column_is_refused_with_a_message(personas):
    response = personas.client(personas.lead).post(
        url(personas, "assurance_recompute"),
        {"month": "2026-03", "reason": HUGE},
        follow=True,
    )
    assert response.status_code == 200
    assert "keep it to 200" in response.content.decode()
