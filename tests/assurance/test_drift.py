"""Drift signals: raised against the network median or the site's own 3-month baseline, withdrawn
when a recompute no longer shows them, and reviewed when the re-audit month is computed."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import ValidationError

from assurance.models import AssuranceSnapshot, DriftSignal, SnapshotValue
from assurance.services import (
    assurance_settings_get,
    drift_signal_respond,
    drift_signals_update,
    improvement_action_providers,
    improvement_action_raise,
)
from tests.assurance.drift_response_helpers import run_response
from tests.factories import SiteFactory

NOW = datetime(2026, 7, 1, tzinfo=UTC)
JUNE = date(2026, 6, 1)


def snapshot(site, month, timeliness, revision=1, partial=False):
    """A hand-written snapshot with one figure: timeliness (met, due)."""
    row = AssuranceSnapshot(
        site=site, month=month, revision=revision, computed_at=NOW, cutoff=NOW, partial=partial
    )
    row.save()
    met, due = timeliness
    SnapshotValue(
        snapshot=row,
        measure="timeliness",
        step="",
        dimension="all",
        segment="all",
        numerator=met,
        denominator=due,
        value=100 * met / due,
    ).save()
    return row


@pytest.fixture
def east(personas, tenant):
    return SiteFactory(organization=personas.org, code="east")


def update(month, snapshots):
    return drift_signals_update(
        month=month, snapshots=snapshots, settings=assurance_settings_get(), now=NOW
    )


def test_a_site_more_than_the_margin_below_the_network_median_raises_drift(personas, east):
    # 90%, 84%, 70%: median 84; south 14 points below (margin 10).
    snapshots = [
        snapshot(personas.north, JUNE, (90, 100)),
        snapshot(east, JUNE, (84, 100)),
        snapshot(personas.south, JUNE, (70, 100)),
    ]
    [signal] = update(JUNE, snapshots)
    assert (signal.site, signal.basis, signal.value, signal.reference) == (
        personas.south,
        "network",
        70.0,
        84.0,
    )
    assert signal.status == DriftSignal.Status.OPEN
    # The standard response's re-audit window: the 30 days after the month.
    assert (signal.reaudit_from, signal.reaudit_until) == (date(2026, 7, 1), date(2026, 7, 30))


def test_a_month_still_running_raises_no_drift_until_it_is_complete(personas, east):
    figures = [(personas.north, (90, 100)), (east, (84, 100)), (personas.south, (70, 100))]
    running = [snapshot(site, JUNE, rate, partial=True) for site, rate in figures]
    assert update(JUNE, running) == []
    assert not DriftSignal.objects.exists()
    # The same figures once June has ended: South is 14 points below the median.
    [signal] = update(JUNE, [snapshot(site, JUNE, rate, revision=2) for site, rate in figures])
    assert (signal.site, signal.basis, signal.value) == (personas.south, "network", 70.0)


def test_a_site_below_its_own_three_month_baseline_raises_drift(personas, tenant):
    for month, met in [(date(2026, 3, 1), 85), (date(2026, 4, 1), 90), (date(2026, 5, 1), 80)]:
        snapshot(personas.north, month, (met, 100))
    # A superseded revision of May is ignored: the current one (80/100) counts.
    snapshot(personas.north, date(2026, 5, 1), (10, 100), revision=0)
    [signal] = update(JUNE, [snapshot(personas.north, JUNE, (70, 100))])
    assert (signal.basis, signal.reference) == ("baseline", pytest.approx(85.0))


def test_no_drift_within_the_margin(personas, east):
    snapshots = [
        snapshot(personas.north, JUNE, (90, 100)),
        snapshot(east, JUNE, (84, 100)),
        snapshot(personas.south, JUNE, (75, 100)),
    ]
    assert update(JUNE, snapshots) == []


def test_a_recompute_that_no_longer_shows_drift_withdraws_the_signal(personas, east):
    update(
        JUNE,
        [
            snapshot(personas.north, JUNE, (90, 100)),
            snapshot(east, JUNE, (84, 100)),
            snapshot(personas.south, JUNE, (70, 100)),
        ],
    )
    update(
        JUNE,
        [
            snapshot(personas.north, JUNE, (90, 100), revision=2),
            snapshot(east, JUNE, (84, 100), revision=2),
            snapshot(personas.south, JUNE, (80, 100), revision=2),
        ],
    )
    signal = DriftSignal.objects.get()
    assert signal.status == DriftSignal.Status.WITHDRAWN
    assert "no longer shows" in signal.history.first().history_change_reason


def drifted_in_june(personas, east):
    update(
        JUNE,
        [
            snapshot(personas.north, JUNE, (90, 100)),
            snapshot(east, JUNE, (84, 100)),
            snapshot(personas.south, JUNE, (70, 100)),
        ],
    )
    return DriftSignal.objects.get()


def test_the_reaudit_month_confirms_recovery(personas, east):
    run_response(drifted_in_june(personas, east), by=personas.lead)
    july = date(2026, 7, 1)
    # South back at 76%: within 10 points of the 84% it fell below.
    update(july, [snapshot(personas.south, july, (76, 100))])
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.CONFIRMED
    assert signal.reaudit_value == pytest.approx(76.0)


def test_the_reaudit_month_does_not_confirm_recovery(personas, east):
    run_response(drifted_in_june(personas, east), by=personas.lead)
    july = date(2026, 7, 1)
    update(july, [snapshot(personas.south, july, (72, 100))])
    assert DriftSignal.objects.get().recovery == DriftSignal.Recovery.NOT_CONFIRMED


def test_a_reaudit_month_still_running_gives_an_interim_figure_only(personas, east):
    drifted_in_june(personas, east)
    july = date(2026, 7, 1)
    update(july, [snapshot(personas.south, july, (80, 100), partial=True)])
    signal = DriftSignal.objects.get()
    assert signal.recovery == DriftSignal.Recovery.AWAITING
    assert signal.reaudit_value == pytest.approx(80.0)


def test_recording_the_standard_response_moves_the_signal_on_and_keeps_history(personas, east):
    signal = drifted_in_june(personas, east)
    drift_signal_respond(
        signal=signal,
        by=personas.lead,
        coaching="Educator with the follow-up team",
        extra_supervision="Weekly",
        reaudit_until=date(2026, 8, 31),
    )
    signal.refresh_from_db()
    assert signal.status == DriftSignal.Status.RESPONDING
    assert signal.reaudit_until == date(2026, 8, 31)
    assert signal.history.first().history_user == personas.lead


def test_the_reaudit_window_cannot_end_before_it_starts(personas, east):
    signal = drifted_in_june(personas, east)
    with pytest.raises(ValidationError):
        drift_signal_respond(
            signal=signal, by=personas.lead, coaching="", extra_supervision="",
            reaudit_until=date(2026, 6, 15),
        )  # fmt: skip


def test_improvement_actions_wait_for_a_registered_provider(personas, east):
    signal = drifted_in_june(personas, east)
    # As if the learning app were not installed.
    with (
        improvement_action_providers.overridden(),
        pytest.raises(ValidationError, match="No improvement log"),
    ):
        improvement_action_raise(source=signal, by=personas.lead)


def test_a_registered_provider_raises_the_improvement_action(personas, east):
    signal = drifted_in_june(personas, east)
    calls = []

    def provider(*, source, by):
        calls.append((source, by))
        return "IA-42"

    with improvement_action_providers.overridden(provider):
        assert improvement_action_raise(source=signal, by=personas.lead) == "IA-42"
    signal.refresh_from_db()
    assert signal.improvement_action_ref == "IA-42"
    assert calls == [(signal, personas.lead)]
    assert provider not in improvement_action_providers.providers()
