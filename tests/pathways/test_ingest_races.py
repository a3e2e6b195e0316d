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
