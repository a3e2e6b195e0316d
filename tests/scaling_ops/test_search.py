"""The header's search box: a case by the start of its ref for roles that see cases, and an
improvement action, change proposal or contract by words of its title, as far as the member may
open it; a commissioner finds only published text and never a case."""

from datetime import date

import pytest

from learning.services.actions import improvement_action_create
from learning.services.common import learning_record_publish
from scaling_ops import tenancy
from scaling_ops.search import MAX_QUERY
from tests.assurance.contract_helpers import make_contract
from tests.pathways.exception_helpers import DAY, at, build_version, make_case


@pytest.fixture
def findable(personas):
    with tenancy.scope(personas.org):
        version = build_version()
        make_case(version, personas.north, "NW-4821", at(DAY, 9), "high")
        make_case(version, personas.south, "NW-4822", at(DAY, 9), "low")
        published = improvement_action_create(
            title="Coaching on home visit timeliness", owner=personas.lead,
            deadline=date(2026, 6, 1), site=personas.north,
        )  # fmt: skip
        learning_record_publish(instance=published, by=personas.lead, published=True)
        improvement_action_create(
            title="Coaching for Sam on NW-4821", owner=personas.lead,
            deadline=date(2026, 6, 1), site=personas.north,
        )  # fmt: skip
        make_contract(personas, reference="riverside-2026", sites=[personas.north])


def search(personas, user, q):
    response = personas.client(user).get(f"/o/{personas.org.slug}/search/", {"q": q})
    assert response.status_code == 200
    return response


def titles(response):
    return [(r.kind, r.title) for r in response.context["results"]]


def test_a_supervisor_finds_a_case_by_the_start_of_its_ref(personas, findable):
    found = titles(search(personas, personas.admin, "nw-482"))
    assert ("Case", "NW-4821") in found and ("Case", "NW-4822") in found
    response = search(personas, personas.admin, "NW-4821")
    assert f"/o/{personas.org.slug}/cases/NW-4821/" in response.content.decode()


def test_a_commissioner_never_finds_a_case_or_unpublished_text(personas, findable):
    response = search(personas, personas.commissioner, "NW-4821")
    assert titles(response) == []
    assert "Sam" not in response.content.decode().split("<main", 1)[1]
    found = titles(search(personas, personas.commissioner, "coaching"))
    assert found == [("Improvement action", found[0][1])]
    assert "home visit timeliness" in found[0][1]


def test_actions_and_contracts_are_found_by_title(personas, findable):
    found = titles(search(personas, personas.lead, "coaching"))
    assert [kind for kind, _ in found] == ["Improvement action", "Improvement action"]
    assert ("Contract", "Contract riverside-2026") in titles(
        search(personas, personas.commissioner, "riverside")
    )


def test_a_bad_query_gets_a_message(personas, findable):
    assert "at least 2 characters" in search(personas, personas.lead, "x").content.decode()
    long = search(personas, personas.lead, "x" * (MAX_QUERY + 1))
    assert f"at most {MAX_QUERY} characters" in long.content.decode()
    assert long.context["results"] == []


def test_the_header_has_the_search_box(personas):
    body = personas.client(personas.supervisor).get(f"/o/{personas.org.slug}/").content.decode()
    assert 'role="search"' in body and f'action="/o/{personas.org.slug}/search/"' in body
