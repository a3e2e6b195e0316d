"""Free text reaching commissioners: every free-text field of the learning log (and every history
reason) carries case refs and a person's name; a commissioner walking every page and CSV they
can reach from their home page finds none of them, while a lead still reads them. Text a lead
published to commissioners is shown with the case refs redacted."""

import re
from datetime import date
from urllib.parse import urljoin

import pytest
from django.urls import reverse

from assurance.models import Incident
from learning import disclosure
from learning.models import ChangeProposal, Deviation, ImprovementAction, LearningReview
from learning.services import (
    change_proposal_create,
    deviation_log,
    improvement_action_create,
    improvement_action_raise_from_source,
    learning_review_create,
)
from pathways.selectors.versions import pathway_version_definition
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, at, build_version, make_case

NAME = "Jane Quixote"
PARTNER_LIKE = "C-7731"
# Tokens no commissioner page may carry.
SECRETS = ("SECRETREF", "Quixote", PARTNER_LIKE)


def planted(refs: list[str], field: str) -> str:
    return f"{field}: {NAME} ({refs[0]}, {PARTNER_LIKE}) called about {refs[1]}."


@pytest.fixture
def learning_text(personas, assured):
    """Every kind of learning record, each free-text field and history reason planted with two
    of the organisation's case refs, a partner-like ref and a person's name. An action is raised
    from the incident (its title is the incident's summary, itself planted)."""
    refs = assured["refs"]
    with tenancy.scope(personas.org):
        Incident.objects.update(summary=planted(refs, "summary"))
        incident = Incident.objects.get()
        improvement_action_raise_from_source(source=incident, by=personas.lead)
        improvement_action_create(
            title="x", owner=personas.lead, deadline=date(2026, 4, 20), by=personas.lead
        )
        deviation_log(
            category="workaround",
            step="intake",
            site=personas.north,
            occurred_on=date(2026, 3, 3),
            by=personas.supervisor,
            note="x",
        )
        version = build_version("learning-text")
        change_proposal_create(
            pathway=version.pathway,
            title="x",
            change_kind="tool",
            step_key="intake",
            change="x",
            rationale="x",
            evidence="x",
            measures=["timeliness"],
            definition=pathway_version_definition(version).to_dict(),
            by=personas.lead,
        )
        learning_review_create(
            title="x",
            cadence="monthly",
            period_start=date(2026, 3, 1),
            period_end=date(2026, 3, 31),
            held_on=date(2026, 4, 5),
            sites=[personas.north, personas.south],
            measures=["timeliness"],
            by=personas.lead,
        )
        for model, fields in disclosure.FREE_TEXT.items():
            model.objects.update(**{field: planted(refs, field) for field in fields})
            model.history.update(history_change_reason=planted(refs, "reason"))
    return refs


def crawl(client, start: str, org: str) -> dict[str, str]:
    """Every page under the organisation reachable by following links (GET only), and each
    page's CSV export. Filtered and paged variants of a page are visited once, as the page."""
    link = re.compile(r'href="([^"#]*)"')
    seen, queue, bodies = set(), [start], {}
    while queue:
        url = queue.pop()
        path, _, query = url.partition("?")
        url = f"{path}?format=csv" if "format=csv" in query else path
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200:
            continue
        body = response.content.decode()
        bodies[url] = body
        if response["Content-Type"].startswith("text/html"):
            found = (urljoin(path, href.replace("&amp;", "&")) for href in link.findall(body))
            queue.extend(target for target in found if target.startswith(f"/o/{org}/"))
    return bodies


def test_a_commissioner_crawl_finds_no_case_ref_or_name(personas, learning_text):
    org = personas.org.slug
    bodies = crawl(personas.client(personas.commissioner), f"/o/{org}/", org)
    learning_pages = sorted(url for url in bodies if "/learning/" in url)
    # The walk reached the log, its records and its CSV exports.
    assert f"/o/{org}/learning/actions/?format=csv" in learning_pages, learning_pages
    assert any(re.search(r"/learning/actions/\d+/", url) for url in learning_pages)
    assert any(re.search(r"/learning/deviations/\d+/", url) for url in learning_pages)
    assert any(re.search(r"/learning/reviews/\d+/", url) for url in learning_pages)
    assert any(re.search(r"/learning/proposals/\d+/", url) for url in learning_pages)
    leaks = {
        url: [secret for secret in SECRETS if secret in body]
        for url, body in bodies.items()
        if any(secret in body for secret in SECRETS)
    }
    assert leaks == {}
    assert disclosure.PLACEHOLDER in bodies[f"/o/{org}/learning/actions/"]


def test_a_lead_still_reads_the_text(personas, learning_text):
    client = personas.client(personas.lead)
    with tenancy.scope(personas.org):
        numbers = {
            "learning_action_detail": ImprovementAction.objects.first().number,
            "learning_deviation_detail": Deviation.objects.get().number,
            "learning_review_detail": LearningReview.objects.get().number,
            "learning_proposal_detail": ChangeProposal.objects.get().number,
        }
    for name, number in numbers.items():
        body = client.get(reverse(name, kwargs={"org": personas.org.slug, "number": number}))
        assert NAME in body.content.decode() and learning_text[0] in body.content.decode()


def test_published_text_reaches_commissioners_with_case_refs_redacted(personas, learning_text):
    with tenancy.scope(personas.org):
        deviation = Deviation.objects.get()
        deviation.note = f"Intake late for {learning_text[0]} and {PARTNER_LIKE}; see IA-1."
        deviation.save(update_fields=["note"])
    response = personas.client(personas.supervisor).post(
        reverse(
            "learning_record_publish",
            kwargs={"org": personas.org.slug, "kind": "deviations", "number": deviation.number},
        ),
        {"published": "yes"},
    )
    assert response.status_code == 302
    with tenancy.scope(personas.org):
        deviation.refresh_from_db()
        assert deviation.published_to_commissioners
        latest = deviation.history.latest("history_date")
        assert (latest.history_change_reason, latest.history_user) == (
            "Published to commissioners",
            personas.supervisor,
        )
    body = (
        personas.client(personas.commissioner)
        .get(
            reverse(
                "learning_deviation_detail",
                kwargs={"org": personas.org.slug, "number": deviation.number},
            )
        )
        .content.decode()
    )
    assert "Intake late for [case ref] and [case ref]; see IA-1." in body
    assert "Published to commissioners" in body  # its own history reason, now published
    # Published text may name whoever the publisher let through; never a case.
    assert "SECRETREF" not in body and PARTNER_LIKE not in body


def test_a_commissioner_cannot_publish(personas, learning_text):
    with tenancy.scope(personas.org):
        number = Deviation.objects.get().number
    response = personas.client(personas.commissioner).post(
        reverse(
            "learning_record_publish",
            kwargs={"org": personas.org.slug, "kind": "deviations", "number": number},
        ),
        {"published": "yes"},
    )
    assert response.status_code == 403
    with tenancy.scope(personas.org):
        assert not Deviation.objects.get().published_to_commissioners


def test_a_commissioner_search_does_not_match_unpublished_text(personas, learning_text):
    url = reverse("learning_action_list", kwargs={"org": personas.org.slug})
    response = personas.client(personas.commissioner).get(f"{url}?q=Quixote")
    assert list(response.context["page"]) == []


def test_ref_like_tokens_are_redacted_and_our_own_references_and_dates_kept():
    text = "IA-3 and CP-2 in 2026-Q3 (2026-10-01), v2; NHS 9434765919 and X12-B."
    assert disclosure.redact_ref_like(text) == (
        "IA-3 and CP-2 in 2026-Q3 (2026-10-01), v2; NHS [case ref] and [case ref]."
    )


def test_a_case_ref_is_redacted_as_a_whole_token_only(personas, tenant):
    make_case(build_version("short-refs"), personas.north, "4471", at(DAY))
    assert disclosure.redact("Case 4471 seen 2026-04-17; 44710 calls, 4471.") == (
        "Case [case ref] seen 2026-04-17; 44710 calls, [case ref]."
    )
