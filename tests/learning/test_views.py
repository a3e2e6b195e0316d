"""Learning pages: every role reads what it may (commissioners: aggregates, never a case ref,
never a write), reviews keep the comparison from the snapshots, and list pages hold their query
count however many rows they show."""

from datetime import date

import pytest
from django.urls import reverse

from learning.models import ImprovementAction, LearningReview
from learning.services import (
    deviation_log,
    improvement_action_create,
    improvement_action_raise_from_source,
)
from scaling_ops import tenancy
from tests.routes import org_routes

LEARNING_ROUTES = [r for r in org_routes() if (r.name or "").startswith("learning_")]


def url(personas, name, **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def test_the_url_walk_covers_every_learning_page():
    names = {r.name for r in LEARNING_ROUTES}
    assert {
        "learning_action_list",
        "learning_action_detail",
        "learning_action_from_exception",
        "learning_deviation_list",
        "learning_pattern_list",
        "learning_review_list",
        "learning_review_detail",
        "learning_proposal_list",
        "learning_proposal_detail",
    } <= names


@pytest.fixture
def logged(personas, exception_items):
    with tenancy.scope(personas.org):
        action = improvement_action_raise_from_source(
            source=exception_items["north"], by=personas.supervisor
        )
        deviation_log(
            site=personas.north, category="workaround", step="intake",
            occurred_on=date(2026, 3, 2), note="Weekend intake by phone",
        )  # fmt: skip
    return action


READ_PAGES = [
    ("learning_action_list", {}),
    ("learning_action_detail", {"number": 1}),
    ("learning_deviation_list", {}),
    ("learning_deviation_detail", {"number": 1}),
    ("learning_pattern_list", {}),
    ("learning_review_list", {}),
    ("learning_proposal_list", {}),
]


@pytest.mark.parametrize("name, kwargs", READ_PAGES)
def test_commissioners_read_without_case_refs_or_write_controls(personas, logged, name, kwargs):
    client = personas.client(personas.commissioner)
    response = client.get(url(personas, name, **kwargs))
    assert response.status_code == 200
    body = response.content.decode()
    assert "SECRET" not in body
    assert url(personas, "exception_detail", pk=logged.source_id) not in body
    assert 'method="post" class="panel"' not in body
    csv_body = client.get(url(personas, name, **kwargs), {"format": "csv"}).content.decode()
    assert "SECRET" not in csv_body


def test_commissioners_do_not_see_the_new_record_pages(personas):
    client = personas.client(personas.commissioner)
    for name in ("learning_action_new", "learning_deviation_new", "learning_review_new"):
        assert client.get(url(personas, name)).status_code == 403


def test_a_supervisor_sees_only_their_sites_and_network_wide_actions(personas):
    with tenancy.scope(personas.org):
        for site, title in ((personas.north, "North one"), (personas.south, "South one"),
                            (None, "Everywhere")):  # fmt: skip
            improvement_action_create(
                title=title, owner=personas.lead, deadline=date(2026, 12, 1), site=site
            )
    body = personas.client(personas.supervisor).get(url(personas, "learning_action_list"))
    text = body.content.decode()
    assert "North one" in text and "Everywhere" in text and "South one" not in text
    south = personas.client(personas.supervisor).get(
        url(personas, "learning_action_detail", number=2)
    )
    assert south.status_code == 404


def test_every_change_is_kept_in_the_history_shown_on_the_page(personas):
    with tenancy.scope(personas.org):
        improvement_action_create(
            title="Fix", owner=personas.supervisor, deadline=date(2026, 12, 1), site=personas.north
        )
    client = personas.client(personas.supervisor)
    detail = url(personas, "learning_action_detail", number=1)
    client.post(detail, {"form": "status", "status": "in_progress"})
    client.post(
        detail,
        {"form": "edit", "title": "Fix the rota", "site": "north",
         "owner": personas.supervisor.pk, "deadline": "2026-12-15"},
    )  # fmt: skip
    page = client.get(detail).content.decode()
    assert "Status → in progress" in page
    assert "Edited: deadline → 2026-12-15" in page
    with tenancy.scope(personas.org):
        assert ImprovementAction.objects.get().history.count() == 3


def test_a_learning_review_keeps_the_comparison_from_the_snapshots(personas, assured):
    client = personas.client(personas.lead)
    response = client.post(
        url(personas, "learning_review_new"),
        {"title": "Q1 review", "cadence": "quarterly", "period_start": "2026-01-01",
         "period_end": "2026-03-31", "held_on": "2026-04-10", "sites": ["north", "south"],
         "measures": ["timeliness", "incidents"], "decisions": "Pilot weekend intake."},
    )  # fmt: skip
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        review = LearningReview.objects.get()
        snapshot_value = assured["snapshot"].values.get(
            measure="timeliness", step="", dimension="all"
        )
    comparison = review.comparison
    assert comparison["months"] == ["2026-01", "2026-02", "2026-03"]
    north = next(row for row in comparison["rows"] if row["site"] == "north")
    assert north["values"]["timeliness"]["numerator"] == snapshot_value.numerator
    assert north["values"]["incidents"]["value"] == 1
    page = client.get(response["Location"])
    assert "Pilot weekend intake." in page.content.decode()
    raised = client.post(
        response["Location"],
        {"form": "action", "title": "Share the rota", "site": "south",
         "owner": personas.lead.pk, "deadline": "2026-05-01"},
    )  # fmt: skip
    assert raised.status_code == 302
    with tenancy.scope(personas.org):
        action = ImprovementAction.objects.get()
    assert (action.source_kind, action.review) == ("learning_review", review)


def test_a_review_compares_at_least_two_sites(personas):
    response = personas.client(personas.lead).post(
        url(personas, "learning_review_new"),
        {"title": "Solo", "cadence": "monthly", "period_start": "2026-03-01",
         "period_end": "2026-03-31", "held_on": "2026-04-10", "sites": ["north"],
         "measures": ["timeliness"]},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Compare at least two sites" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["learning_action_list", "learning_deviation_list", "learning_proposal_list"]
)
def test_list_pages_hold_their_query_count(personas, name, django_assert_max_num_queries):
    client = personas.client(personas.lead)
    with tenancy.scope(personas.org):
        for number in range(30):
            improvement_action_create(
                title=f"Action {number}", owner=personas.supervisor,
                deadline=date(2026, 12, 1), site=personas.north if number % 2 else personas.south,
            )  # fmt: skip
            deviation_log(
                site=personas.north, category="workaround", step=f"step{number}",
                occurred_on=date(2026, 11, 1),
            )  # fmt: skip
    with django_assert_max_num_queries(20):
        assert client.get(url(personas, name)).status_code == 200
