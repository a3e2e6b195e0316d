"""Headline cards: each shows its target (a contract term's when the member's contracts agree on
one, else the organisation's) and is coloured by its status against it, never by the change on
last month; a month still running is never judged."""

from datetime import date

import pytest

from assurance import analysis
from assurance.contracts.services import contract_terms_evaluate
from assurance.reports import Headline
from scaling_ops import tenancy
from tests.assurance.contract_helpers import make_contract
from tests.assurance.helpers import APRIL_5

MAR = date(2026, 3, 1)


def overview(personas, user):
    response = personas.client(user).get(f"/o/{personas.org.slug}/assurance/?month=2026-03")
    assert response.status_code == 200
    return response


def headline(response, code):
    return next(h for h in response.context["report"].headlines if h.code == code)


@pytest.mark.parametrize(
    "value, higher, expected",
    [
        (95, True, "met"),
        (90, True, "met"),
        (80, True, "at_risk"),
        (52.9, True, "breached"),
        (5, False, "met"),
        (15, False, "at_risk"),
        (25, False, "breached"),
        (None, True, None),
    ],
)
def test_status_against_a_target_follows_the_direction(value, higher, expected):
    target, threshold = (90, 75) if higher else (10, 20)
    assert (
        analysis.status_against(value, target=target, threshold=threshold, higher_is_better=higher)
        == expected
    )


def test_a_card_is_coloured_by_its_status_against_the_organisations_target(personas, assured):
    response = overview(personas, personas.admin)
    timeliness = headline(response, "timeliness")
    # North 2/7 and South 1/2 pooled: 33.3%, below the built-in breach threshold of 75.
    assert (timeliness.target, timeliness.threshold) == (90, 75)
    assert timeliness.target_source == "organisation's target"
    assert timeliness.status == "breached" and timeliness.tone == "bad"
    body = response.content.decode()
    assert "Target ≥ 90%, breach below 75%" in body
    assert 'id="card-legend"' in body and "beyond the breach threshold" in body


def test_an_improving_figure_below_target_is_not_green(personas, assured):
    card = Headline(
        "escalation_adherence", "Escalation adherence", 52.9, 40.0, "%", True, 17,
        target=95, threshold=80, target_source="organisation's target",
    )  # fmt: skip
    assert card.change > 0
    assert card.tone == "bad" and card.status_label == "Breached"


def test_a_contract_target_replaces_the_organisations_when_the_contracts_agree(personas, assured):
    with tenancy.scope(personas.org):
        make_contract(personas, reference="county-a", sites=[personas.north])
        contract_terms_evaluate(organization=personas.org, month=MAR, now=APRIL_5)
    timeliness = headline(overview(personas, personas.commissioner), "timeliness")
    # North is in its implementation phase: target 80, breach threshold 60.
    assert (timeliness.target, timeliness.threshold) == (80, 60)
    assert timeliness.target_source == "contract target (Contract county-a)"
    assert timeliness.status == "breached"


def test_a_month_still_running_is_shown_but_not_judged():
    card = Headline(
        "timeliness", "Timeliness compliance", 97.0, None, "%", True, 40,
        target=90, threshold=75, partial=True,
    )  # fmt: skip
    assert card.status is None and card.tone == ""
    assert card.status_label == "In progress, not judged"


def test_a_measure_without_target_says_so():
    card = Headline("x", "X", 50.0, None, "%", True, 10)
    assert card.status is None and card.status_label == "No target set"
