"""Two org admins removing each other at the same moment on PostgreSQL: the admin rows are
locked while the last-admin rule is checked, so the second removal waits for the first and is
then refused; the organisation never ends without an org admin."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from scaling_ops import services, tenancy
from scaling_ops.models import Membership, Role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serialises writers itself")


def _someone_waits_on_a_lock() -> bool:
    """Polls until another backend of this database waits on a row lock (bounded: 20 s)."""
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.1)
    return False


def test_two_admins_removing_each_other_leave_one_admin(postgres, personas):
    services.membership_set(user=personas.lead, organization=personas.org, role=Role.ORG_ADMIN)
    with tenancy.scope(personas.org):
        alice = Membership.objects.get(user=personas.admin)
        lena = Membership.objects.get(user=personas.lead)
    first_removed, release = threading.Event(), threading.Event()
    refused = []

    def remove_alice():
        try:
            with tenancy.scope(personas.org), transaction.atomic():
                services.membership_remove(membership=alice)
                first_removed.set()
                release.wait(timeout=30)  # hold the transaction open
        finally:
            connections.close_all()

    def remove_lena():
        try:
            with tenancy.scope(personas.org):
                services.membership_remove(membership=lena)
        except ValidationError as error:
            refused.append(error)
        finally:
            connections.close_all()

    first = threading.Thread(target=remove_alice)
    first.start()
    assert first_removed.wait(timeout=30)
    second = threading.Thread(target=remove_lena)
    second.start()
    waited = _someone_waits_on_a_lock()
    release.set()
    first.join(timeout=60)
    second.join(timeout=60)

    assert waited, "the second removal did not wait for the first"
    assert refused and "lena is the only org admin" in refused[0].messages[0]
    with tenancy.scope(personas.org):
        admins = list(
            Membership.objects.filter(role=Role.ORG_ADMIN).values_list("user__username", flat=True)
        )
    assert admins == ["lena"]
