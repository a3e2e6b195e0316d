"""The supervisor at the front door in a real browser: the queue's Front door section lists the
referrals held at their site in words, accepting one without a reason is stopped by the form,
accepting one with a reason takes it out with a message, and the partner completing another
takes that one out too."""

import pytest

from pathways.models import ReferralAcceptance
from pathways.services.ingest import case_upsert
from scaling_ops import tenancy
from tests.pathways.api_helpers import case_payload
from tests.pathways.front_door_helpers import COMPLETE_REFERRAL, build_front_door_version

QUEUE = "/o/acme/exceptions/"


@pytest.fixture
def held(personas):
    with tenancy.scope(personas.org):
        build_front_door_version()
        sites = frozenset({personas.north.pk, personas.south.pk})
        for ref, referral, site in (
            ("C-1", {"age": 70}, "north"),
            ("C-2", {**COMPLETE_REFERRAL, "age": 15}, "north"),
            ("S-1", {}, "south"),
        ):
            case_upsert(
                external_ref=ref,
                payload=case_payload(
                    site=site, referral_source="East General discharge team", referral=referral
                ),
                site_ids=sites,
            )


def held_refs(page) -> list[str]:
    return page.locator("#front-door tbody tr td:first-child a").all_inner_texts()


def test_a_supervisor_works_the_front_door(page, live_server, personas, log_in, held):
    log_in(page, personas.supervisor)
    page.goto(f"{live_server.url}{QUEUE}")
    section = page.locator("#front-door")
    assert "2 referrals held" in section.locator("h2").inner_text()
    assert held_refs(page) == ["C-1", "C-2"]  # South's S-1 is not sam's site
    first = section.locator("tbody tr", has_text="C-1")
    assert "Discharge medication list" in first.inner_text()
    assert "East General discharge team" in first.inner_text()
    second = section.locator("tbody tr", has_text="C-2")
    assert "The service is for adults (18 or over)." in second.inner_text()

    # An empty reason is stopped by the browser: nothing is posted.
    first.locator("button", has_text="Accept").click()
    assert page.url.endswith(QUEUE)
    with tenancy.scope(personas.org):
        assert not ReferralAcceptance.objects.exists()

    first.locator("input[name=reason]").fill("Medication list confirmed by phone")
    first.locator("button", has_text="Accept").click()
    page.wait_for_load_state("networkidle")
    assert "Referral C-1 accepted" in page.locator("body").inner_text()
    assert held_refs(page) == ["C-2"]

    # The partner sends C-2 again with an adult's age: it leaves the front door on reload.
    with tenancy.scope(personas.org):
        case_upsert(
            external_ref="C-2",
            payload=case_payload(referral=COMPLETE_REFERRAL),
            site_ids=frozenset({personas.north.pk}),
        )
    page.reload()
    assert page.locator("#front-door").count() == 0
