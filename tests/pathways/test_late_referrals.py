"""A case first received late is pinned as it would have been had it arrived at its referral:
to the pilot that held its referral even if that pilot has since been ended or adopted, and to the
network version in use at its referral rather than the one active on the day it arrives."""

from datetime import UTC, datetime

from pathways.models import Case, PathwayVersion
from pathways.selectors.routing import NETWORK, PILOT, referral_route
from pathways.services.pilots import pathway_pilot_end
from pathways.services.versions import pathway_version_activate
from scaling_ops import tenancy
from tests.pathways.test_pilots import (  # noqa: F401 (fixtures used here)
    network,
    north_key,
    pilot,
    pilot_version,
    piloted_definition,
    put_case,
)
from tests.pathways.version_helpers import import_version

IN_PILOT = "2026-04-02T09:00:00+00:00"


def test_a_case_referred_in_a_pilot_ended_before_it_arrives_follows_the_pilot(
    personas,
    pilot,  # noqa: F811 (the fixture)
    pilot_version,  # noqa: F811 (the fixture)
    north_key,  # noqa: F811 (the fixture)
):
    pathway_pilot_end(pilot=pilot, by=personas.admin, reason="Ended early.")
    body = put_case(north_key, "LATE-1", referral_at=IN_PILOT)
    assert body["pathway_version"] == pilot_version.number
    assert "during the pilot of v2" in body["pathway_version_reason"]
    # The ended pilot holds no referral after its end, and other sites were never in it.
    assert (
        put_case(north_key, "LATE-2", referral_at="2026-05-01T00:00:00+00:00")["pathway_version"]
        == 1
    )
    assert put_case(north_key, "LATE-3", site="south", referral_at=IN_PILOT)["pathway_version"] == 1


def test_a_pilot_ended_before_its_start_holds_no_referral(
    personas,
    network,  # noqa: F811 (the fixture)
    north_key,  # noqa: F811 (the fixture)
):
    from pathways.services.pilots import pathway_pilot_start

    with tenancy.scope(personas.org):
        version = import_version(piloted_definition())
        future = pathway_pilot_start(
            version=version,
            sites=[personas.north],
            starts_at=datetime(2027, 3, 1, tzinfo=UTC),
            ends_at=datetime(2027, 4, 1, tzinfo=UTC),
            by=personas.admin,
        )
        pathway_pilot_end(pilot=future, by=personas.admin, reason="Called off.")
        found = referral_route(
            pathway_slug="hospital-to-home",
            site_id=personas.north.pk,
            referral_at=datetime(2027, 3, 1, tzinfo=UTC),
        )
    assert (found.version_id, found.basis) == (network.pk, NETWORK)


def test_a_case_first_received_late_follows_the_version_in_use_at_its_referral(
    personas,
    network,  # noqa: F811 (the fixture)
    north_key,  # noqa: F811 (the fixture)
):
    with tenancy.scope(personas.org):
        PathwayVersion.objects.filter(pk=network.pk).update(
            activated_at=datetime(2026, 1, 5, tzinfo=UTC)
        )
        newer = import_version(piloted_definition())
        pathway_version_activate(version=newer, by=personas.admin, reason="v2 for all")
        newer.refresh_from_db()
    late = put_case(north_key, "OLD-1", site="south", referral_at="2026-03-02T09:00:00+00:00")
    assert late["pathway_version"] == network.number
    assert (
        "version in use at the referral (v1, active from 2026-01-05"
        in (late["pathway_version_reason"])
    )
    now = put_case(north_key, "NEW-1", site="south", referral_at=newer.activated_at.isoformat())
    assert now["pathway_version"] == newer.number
    # Referred before any recorded activation: the active version, as before.
    early = put_case(north_key, "OLD-0", site="south", referral_at="2025-12-01T09:00:00+00:00")
    assert early["pathway_version"] == newer.number
    with tenancy.scope(personas.org):
        assert Case.objects.get(external_ref="OLD-1").version_id == network.pk
        route = referral_route(
            pathway_slug="hospital-to-home",
            site_id=personas.north.pk,
            referral_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        )
    assert (route.version_id, route.basis) == (network.pk, NETWORK)
    assert route.basis != PILOT
