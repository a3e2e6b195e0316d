"""Quarterly aggregation of deviations across sites: the same pattern (category at a step) at
N or more sites is a design signal; at N-1 it is not."""

from datetime import date

import pytest
from django.urls import reverse

from learning import selectors
from learning.services import deviation_log, learning_settings_update
from scaling_ops import tenancy
from tests.factories import SiteFactory

Q4 = date(2026, 10, 1)


@pytest.fixture
def sites(personas):
    east = SiteFactory(organization=personas.org, code="east", name="East")
    west = SiteFactory(organization=personas.org, code="west", name="West")
    return [personas.north, personas.south, east, west]


def log(site, step="first_home_visit", category="workaround", day=date(2026, 11, 2)):
    return deviation_log(site=site, category=category, step=step, occurred_on=day)


def patterns(min_sites, start=Q4):
    return selectors.deviation_patterns(
        start=start, end=selectors.quarter_end(start), min_sites=min_sites
    )


def test_a_pattern_at_n_sites_is_flagged(tenant, sites):
    for site in sites[:3]:
        log(site)
    [pattern] = patterns(3)
    assert pattern.flagged
    assert pattern.site_count == 3
    assert pattern.count == 3


def test_a_pattern_at_n_minus_one_sites_is_not_flagged_however_often_it_recurs(tenant, sites):
    for _ in range(4):
        log(sites[0])
        log(sites[1])
    [pattern] = patterns(3)
    assert not pattern.flagged
    assert pattern.site_count == 2
    assert pattern.count == 8


def test_the_pattern_is_the_category_at_the_step(tenant, sites):
    log(sites[0])
    log(sites[1])
    log(sites[2], category="step_skipped")
    log(sites[3], step="intake")
    assert not any(p.flagged for p in patterns(3))
    assert len(patterns(3)) == 3


def test_only_the_quarter_counts(tenant, sites):
    log(sites[0], day=date(2026, 9, 30))  # Q3
    log(sites[1], day=date(2026, 10, 1))
    log(sites[2], day=date(2026, 12, 31))
    [pattern] = patterns(3)
    assert pattern.site_count == 2 and not pattern.flagged
    assert patterns(3, start=date(2026, 7, 1))[0].sites == [sites[0].name]


def test_the_threshold_is_a_setting(tenant, sites):
    log(sites[0])
    log(sites[1])
    assert not patterns(selectors.learning_settings_get().pattern_min_sites)[0].flagged
    learning_settings_update(pattern_min_sites=2, default_deadline_days=14)
    assert patterns(selectors.learning_settings_get().pattern_min_sites)[0].flagged


def test_the_patterns_page_shows_the_design_signal_and_exports_it(personas, sites):
    with tenancy.scope(personas.org):
        for site in sites[:3]:
            log(site)
    client = personas.client(personas.lead)
    url = reverse("learning_pattern_list", kwargs={"org": personas.org.slug})
    page = client.get(url, {"quarter": "2026-Q4"})
    assert page.status_code == 200
    assert "Design signal" in page.content.decode()
    body = client.get(url, {"quarter": "2026-Q4", "format": "csv"}).content.decode()
    assert "Local workaround,First home visit" in body and body.strip().endswith("yes")


def test_a_supervisor_cannot_change_the_threshold(personas):
    client = personas.client(personas.supervisor)
    url = reverse("learning_pattern_list", kwargs={"org": personas.org.slug})
    response = client.post(url, {"pattern_min_sites": 2, "default_deadline_days": 14})
    assert response.status_code == 403
