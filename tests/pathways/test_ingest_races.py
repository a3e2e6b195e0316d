"""Two partners' requests racing on PostgreSQL: the unique constraint, not a read before the
insert, decides which one stores an event, and nothing is stored twice."""

import threading

import pytest
from django.db import connection, connections

from pathways.models import CaseEvent
from pathways.services import ingest
from scaling_ops import tenancy
from tests.pathways.api_helpers import event_payload, partner_client
from tests.pathways.exception_helpers import DAY, at, build_version, make_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serialises writers itself")


def _race(monkeypatch, senders, payloads):
    """Runs each sender's post in its own thread (own connection); every thread waits, after
    validating its batch and before its insert, until all have got that far."""
    barrier = threading.Barrier(len(senders), timeout=20)
    real_insert = ingest._insert_new

    def insert_together(*args, **kwargs):
        barrier.wait()
        return real_insert(*args, **kwargs)

    monkeypatch.setattr(ingest, "_insert_new", insert_together)
    responses = [None] * len(senders)

    def send(position):
        try:
            responses[position] = senders[position].post(
                "/api/v1/events/", payloads[position], format="json"
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def test_two_concurrent_posts_of_the_same_batch_store_each_event_once(
    postgres, personas, monkeypatch
):
    with tenancy.scope(personas.org):
        make_case(build_version(), personas.north, "C-1", at(DAY, 9))
    batch = [event_payload(n, occurred_at=f"2026-03-02T1{n}:00:00+00:00") for n in range(5)]
    clients = [partner_client(personas.org, [personas.north], name=f"k{n}") for n in (1, 2)]

    responses = _race(monkeypatch, clients, [batch, batch])

    assert [response.status_code for response in responses] == [201, 201]
    created = sorted(response.json()["created"] for response in responses)
    duplicates = sorted(response.json()["duplicates"] for response in responses)
    assert (created, duplicates) == ([0, 5], [0, 5])
    assert CaseEvent.dangerously_unscoped.count() == 5


def test_a_concurrent_conflicting_reuse_of_an_id_stores_one_and_refuses_the_other_whole(
    postgres, personas, monkeypatch
):
    with tenancy.scope(personas.org):
        make_case(build_version(), personas.north, "C-1", at(DAY, 9))
    clients = [partner_client(personas.org, [personas.north], name=f"k{n}") for n in (1, 2)]
    first = [event_payload(1), event_payload(2)]
    second = [event_payload(3), event_payload(1, data={"complete": False})]

    responses = _race(monkeypatch, clients, [first, second])

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409]
    stored = set(CaseEvent.dangerously_unscoped.values_list("event_id", flat=True))
    # The refused batch stored nothing at all, not even its own new id.
    assert stored in ({"evt-1", "evt-2"}, {"evt-3", "evt-1"})


def _stored_after_the_read(monkeypatch, stored_since: dict[str, str]):
    """The batch's first read of stored ids misses ``stored_since``: as if a concurrent request
    committed them between that read and the COPY."""
    real_read = ingest._stored_hashes
    reads = []

    def read_before_the_other_committed(event_ids):
        reads.append(list(event_ids))
        found = real_read(event_ids)
        if len(reads) == 1:
            return {key: value for key, value in found.items() if key not in stored_since}
        return found

    monkeypatch.setattr(ingest, "_stored_hashes", read_before_the_other_committed)
    return reads


def test_an_id_stored_between_the_read_and_the_copy_is_a_duplicate_decided_by_the_constraint(
    postgres, personas, monkeypatch
):
    with tenancy.scope(personas.org):
        make_case(build_version(), personas.north, "C-1", at(DAY, 9))
    client = partner_client(personas.org, [personas.north])
    assert client.post("/api/v1/events/", [event_payload(1)], format="json").status_code == 201
    reads = _stored_after_the_read(monkeypatch, {"evt-1"})

    response = client.post("/api/v1/events/", [event_payload(1), event_payload(2)], format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["results"] == [
        {"id": "evt-1", "status": "duplicate"},
        {"id": "evt-2", "status": "created"},
    ]
    # The COPY was refused whole; the ON CONFLICT insert stored evt-2 and the second read
    # found evt-1's content to compare.
    assert reads == [["evt-1", "evt-2"], ["evt-1"]]
    assert sorted(CaseEvent.dangerously_unscoped.values_list("event_id", flat=True)) == [
        "evt-1",
        "evt-2",
    ]


def test_an_id_stored_between_the_read_and_the_copy_with_other_content_refuses_the_batch(
    postgres, personas, monkeypatch
):
    with tenancy.scope(personas.org):
        make_case(build_version(), personas.north, "C-1", at(DAY, 9))
    client = partner_client(personas.org, [personas.north])
    assert client.post("/api/v1/events/", [event_payload(1)], format="json").status_code == 201
    _stored_after_the_read(monkeypatch, {"evt-1"})

    response = client.post(
        "/api/v1/events/",
        [event_payload(2), event_payload(1, data={"complete": False})],
        format="json",
    )

    assert response.status_code == 409, response.json()
    assert [error["index"] for error in response.json()["errors"]] == [1]
    assert list(CaseEvent.dangerously_unscoped.values_list("event_id", flat=True)) == ["evt-1"]
