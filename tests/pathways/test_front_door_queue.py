"""The "Front door" section of the supervisor queue: referrals held because they are
incomplete, ineligible or not assessable, in words; accepting one with a reason (history kept);
a later PUT completing one; who may see and act; a query count that does not grow with rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pathways.models import Case, ReferralAcceptance
from pathways.services.ingest import case_upsert
from scaling_ops import tenancy
from tests.pathways.api_helpers import case_payload
from tests.pathways.front_door_helpers import COMPLETE_REFERRAL, build_front_door_version


@pytest.fixture
def version(tenant):
    return build_front_door_version()


def refer(personas, ref, site=None, **changes):
    site = site or personas.north
    with tenancy.scope(personas.org):
        case, _ = case_upsert(
            external_ref=ref,
            payload=case_payload(site=site.code, **changes),
            site_ids=frozenset({personas.north.pk, personas.south.pk}),
        )
    return case


@pytest.fixture
def held(personas, version):
    """North: C-1 lacks the medication list, C-2 is 16, C-3 is complete; South: C-9 lacks
    everything."""
    refer(personas, "C-1", referral_source="East General", referral={"age": 70})
    refer(personas, "C-2", referral={**COMPLETE_REFERRAL, "age": 16})
    refer(personas, "C-3", referral=COMPLETE_REFERRAL)
    refer(personas, "C-9", site=personas.south, referral={})


def url(personas, name="exception_queue", **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def section(response) -> str:
    html = response.content.decode()
    start = html.index('id="front-door"')
    return html[start : html.index("</section>", start)]


def test_the_section_shows_held_referrals_of_the_members_sites_in_words(personas, held):
    response = personas.client(personas.supervisor).get(url(personas))
    html = section(response)
    assert "2 referrals held" in html
    assert "C-1" in html and "C-2" in html
    assert "C-3" not in html and "C-9" not in html  # complete; another site
    assert "Discharge medication list" in html and "discharge_medication_list" not in html
    assert "GP letter" in html  # recommended, shown apart
    assert "The service is for adults (18 or over)." in html
    assert "East General" in html


def test_a_lead_sees_every_site_and_the_site_filter_narrows(personas, held):
    client = personas.client(personas.lead)
    assert "3 referrals held" in section(client.get(url(personas)))
    narrowed = section(client.get(url(personas), {"site": "south"}))
    assert "C-9" in narrowed and "C-1" not in narrowed


def test_accepting_with_a_reason_takes_it_out_and_keeps_who_and_why(personas, held):
    case = Case.dangerously_unscoped.get(external_ref="C-1")
    client = personas.client(personas.supervisor)
    response = client.post(
        url(personas, "front_door_accept", pk=case.pk),
        {"reason": "Medication list confirmed by phone"},
        follow=True,
    )
    assert "Referral C-1 accepted" in response.content.decode()
    assert "C-1" not in section(response)
    acceptance = ReferralAcceptance.dangerously_unscoped.get(case=case)
    assert (acceptance.reason, acceptance.accepted_by) == (
        "Medication list confirmed by phone",
        personas.supervisor,
    )
    history = acceptance.history.get()
    assert (history.history_user, history.history_change_reason) == (
        personas.supervisor,
        "accepted at the front door",
    )


@pytest.mark.parametrize("reason", ["", "   ", "r" * 1001])
def test_accepting_without_a_usable_reason_changes_nothing(personas, held, reason):
    case = Case.dangerously_unscoped.get(external_ref="C-1")
    response = personas.client(personas.supervisor).post(
        url(personas, "front_door_accept", pk=case.pk), {"reason": reason}, follow=True
    )
    assert "C-1:" in response.content.decode()
    assert not ReferralAcceptance.dangerously_unscoped.exists()


def test_a_later_put_completing_the_referral_takes_it_out(personas, held):
    refer(personas, "C-1", referral=COMPLETE_REFERRAL)
    html = section(personas.client(personas.supervisor).get(url(personas)))
    assert "C-1" not in html and "C-2" in html


def test_no_section_when_nothing_is_held(personas, version):
    refer(personas, "C-3", referral=COMPLETE_REFERRAL)
    response = personas.client(personas.supervisor).get(url(personas))
    assert 'id="front-door"' not in response.content.decode()


def test_a_commissioner_may_not_accept_and_an_outsider_finds_nothing(personas, held):
    case = Case.dangerously_unscoped.get(external_ref="C-1")
    target = url(personas, "front_door_accept", pk=case.pk)
    assert personas.client(personas.commissioner).post(target, {"reason": "x"}).status_code == 403
    assert personas.client(personas.outsider).post(target, {"reason": "x"}).status_code == 404
    assert not ReferralAcceptance.dangerously_unscoped.exists()


def test_a_supervisor_cannot_accept_a_referral_at_a_site_they_do_not_hold(personas, held):
    south = Case.dangerously_unscoped.get(external_ref="C-9")
    response = personas.client(personas.supervisor).post(
        url(personas, "front_door_accept", pk=south.pk), {"reason": "x"}
    )
    assert response.status_code == 404


def test_accepting_twice_is_refused(personas, held):
    case = Case.dangerously_unscoped.get(external_ref="C-2")
    client = personas.client(personas.supervisor)
    client.post(url(personas, "front_door_accept", pk=case.pk), {"reason": "Known to us"})
    response = client.post(
        url(personas, "front_door_accept", pk=case.pk), {"reason": "Again"}, follow=True
    )
    assert ReferralAcceptance.dangerously_unscoped.filter(case=case).count() == 1
    assert "C-2: The referral of C-2 was already accepted." in response.content.decode()


def test_the_section_costs_the_same_queries_for_many_referrals(personas, version):
    client = personas.client(personas.supervisor)
    refer(personas, "C-0", referral={})
    with CaptureQueriesContext(connection) as few:
        client.get(url(personas))
    for n in range(1, 30):
        refer(personas, f"C-{n}", referral={"age": 70})
    with CaptureQueriesContext(connection) as many:
        response = client.get(url(personas))
    assert "30 referrals held" in section(response)
    assert len(many) == len(few)


def test_the_written_out_read_of_held_referrals_is_the_querysets(personas, held):
    """The panel's one written-out query against ``front_door_held``: held cases only (not the
    complete one, not an accepted one), the sites asked for, oldest referral first, the limit,
    the referral document left out and each case's site the one passed in."""
    from pathways.selectors.front_door import _held_cases, front_door_held
    from pathways.services.referrals import referral_accept

    with tenancy.scope(personas.org):
        referral_accept(
            case=Case.objects.get(external_ref="C-2"),
            reason="Known",
            by=personas.supervisor,
            now=timezone.now(),
        )
        refer(personas, "C-4", referral={"age": 70}, referral_at="2026-01-02T09:00:00+00:00")
        for sites in ([personas.north], [personas.south], [personas.north, personas.south], []):
            for limit in (1, 2, 50):
                expected = list(front_door_held(sites=sites).defer("referral")[:limit])
                cases = _held_cases(sites, limit)
                assert cases == expected
                assert [c.get_deferred_fields() for c in cases] == [{"referral"}] * len(cases)
                assert [c.site for c in cases] == [c.site for c in expected]
                assert all(c.site in sites for c in cases)
        assert [c.external_ref for c in _held_cases([personas.north, personas.south], 50)] == [
            "C-4",
            "C-1",
            "C-9",
        ]
    with tenancy.isolated(), pytest.raises(tenancy.TenantNotBound):
        _held_cases([personas.north], 50)
