"""Front-door measures of the monthly snapshot (README "The front door"): referral quality per
site and per referral source (the sources add up to the site), days to intake for complete and
incomplete referrals, safeguarding response timeliness, and the referral-source ranking page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from assurance.models import SnapshotValue
from assurance.services.snapshots import assurance_snapshot_compute
from pathways.services.ingest import case_upsert
from scaling_ops import tenancy
from tests.assurance.helpers import APRIL_5, MONTH, march
from tests.pathways.api_helpers import case_payload
from tests.pathways.exception_helpers import complete, event
from tests.pathways.front_door_helpers import COMPLETE_REFERRAL, build_front_door_version

INCOMPLETE = {"age": 70}  # lacks the discharge medication list (required) and the GP letter


def refer(personas, ref, site, day, source, referral):
    case, _ = case_upsert(
        external_ref=ref,
        payload=case_payload(
            site=site.code,
            referral_at=march(day).isoformat(),
            referral_source=source,
            referral=referral,
        ),
        site_ids=frozenset({personas.north.pk, personas.south.pk}),
    )
    return case


@pytest.fixture
def month(personas):
    """North: East General sends 2 incomplete + 1 complete, the GP practice 1 complete and one
    ineligible; South: East General 1 incomplete. Safeguarding at north: one concern answered
    in 4 h exactly, one answered 4 h 1 min after."""
    with tenancy.scope(personas.org):
        build_front_door_version()
        north, south = personas.north, personas.south
        a = refer(personas, "N-1", north, 2, "East General", INCOMPLETE)
        b = refer(personas, "N-2", north, 3, "East General", INCOMPLETE)
        c = refer(personas, "N-3", north, 4, "East General", COMPLETE_REFERRAL)
        d = refer(personas, "N-4", north, 5, "Riverside GP", COMPLETE_REFERRAL)
        refer(personas, "N-5", north, 6, "Riverside GP", {**COMPLETE_REFERRAL, "age": 12})
        refer(personas, "S-1", south, 7, "East General", INCOMPLETE)
        complete(a, "intake", march(5))  # 3 days
        complete(b, "intake", march(4))  # 1 day
        complete(c, "intake", march(5))  # 1 day
        complete(d, "intake", march(5, 21))  # half a day
        event(c, "safeguarding_concern", march(10, 10))
        complete(c, "safeguarding_response", march(10, 14))
        event(d, "safeguarding_concern", march(11, 10))
        complete(d, "safeguarding_response", march(11, 14) + timedelta(minutes=1))
        assurance_snapshot_compute(organization=personas.org, month=MONTH, now=APRIL_5)


def figures(measure, **filters) -> dict:
    rows = SnapshotValue.dangerously_unscoped.filter(measure=measure, **filters).values_list(
        "snapshot__site__code", "step", "dimension", "segment", "numerator", "denominator", "value"
    )
    return {row[:4]: row[4:] for row in rows}


def test_incomplete_and_ineligible_rates_per_site_and_source(month):
    incomplete = figures("referral_incomplete_rate")
    assert incomplete[("north", "", "all", "all")][:2] == (2, 5)
    assert incomplete[("north", "", "referral_source", "East General")][:2] == (2, 3)
    assert incomplete[("north", "", "referral_source", "Riverside GP")][:2] == (0, 2)
    assert incomplete[("south", "", "all", "all")][:2] == (1, 1)
    ineligible = figures("referral_ineligible_rate")
    assert ineligible[("north", "", "all", "all")][:2] == (1, 5)


@pytest.mark.parametrize(
    "measure", ["referral_incomplete_rate", "referral_ineligible_rate", "referral_missing_field"]
)
def test_each_sources_figures_add_up_to_the_sites(month, measure):
    rows = figures(measure)
    for site in ("north", "south"):
        steps = {step for (code, step, _, _) in rows if code == site}
        for step in steps:
            whole = rows[(site, step, "all", "all")]
            parts = [
                value
                for (code, s, dimension, _), value in rows.items()
                if code == site and s == step and dimension == "referral_source"
            ]
            assert sum(p[0] for p in parts) == whole[0]
            assert sum(p[1] for p in parts) == whole[1]


def test_the_most_often_missing_fields_are_counted_per_field(month):
    missing = figures("referral_missing_field")
    assert missing[("north", "discharge_medication_list", "all", "all")][:2] == (2, 5)
    assert missing[("north", "gp_letter", "referral_source", "East General")][:2] == (2, 3)


def test_days_to_intake_for_complete_and_incomplete_referrals(month):
    days = figures("referral_days_to_intake")
    mean, cases, value = days[("north", "", "completeness", "incomplete")]
    assert (mean, cases, value) == (2.0, 2, 2.0)
    mean, cases, _ = days[("north", "", "completeness", "complete")]
    assert (round(mean, 4), cases) == (0.75, 2)
    # Per source, weighted by cases, they add up to the site's.
    complete_by_source = [
        v for (code, _, d, _), v in days.items() if code == "north" and d == "source_complete"
    ]
    assert sum(m * n for m, n, _ in complete_by_source) == pytest.approx(1.5)


def test_safeguarding_response_timeliness_counts_four_hours_as_met_and_a_minute_more_as_late(
    month,
):
    numerator, denominator, value = figures("safeguarding_response_timeliness")[
        ("north", "", "all", "all")
    ]
    assert (numerator, denominator, value) == (1, 2, 50.0)


def url(personas, **query):
    path = reverse("assurance_referral_sources", kwargs={"org": personas.org.slug})
    return path


def test_the_ranking_puts_the_worst_source_first_in_words(personas, month):
    response = personas.client(personas.lead).get(url(personas), {"month": "2026-03"})
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row.source for row in rows] == ["East General", "Riverside GP"]
    east = rows[0]
    assert (east.referrals, east.incomplete) == (4, 3)
    assert east.top_missing[0] == ("Discharge medication list", 3)
    html = response.content.decode()
    assert "Discharge medication list (3)" in html and "discharge_medication_list" not in html


def test_the_ranking_exports_csv(personas, month):
    response = personas.client(personas.lead).get(
        url(personas), {"month": "2026-03", "format": "csv"}
    )
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("Month,Referral source,Sites,Referrals")
    assert lines[1].startswith("2026-03,East General,")


def test_commissioners_do_not_see_referral_sources(personas, month):
    client = personas.client(personas.commissioner)
    assert client.get(url(personas)).status_code == 403
    export = client.get(reverse("assurance_export", kwargs={"org": personas.org.slug}))
    assert b"East General" not in export.content


def test_an_outsider_finds_nothing(personas, month):
    assert personas.client(personas.outsider).get(url(personas)).status_code == 404
