"""The pure rules of DESIGN.md section 4a (assurance/stability.py) on hand-worked figures."""

import pytest

from assurance import stability


@pytest.mark.parametrize(
    ("num", "den", "low", "high"),
    [
        (8, 10, 49.02, 94.33),  # the textbook Wilson example
        (50, 100, 40.38, 59.62),
        (0, 10, 0.0, 27.75),
        (10, 10, 72.25, 100.0),
    ],
)
def test_wilson_interval_matches_known_figures(num, den, low, high):
    found = stability.wilson(num, den)
    assert found[0] == pytest.approx(low, abs=0.01)
    assert found[1] == pytest.approx(high, abs=0.01)


def test_wilson_without_cases_has_no_interval():
    assert stability.wilson(0, 0) is None


def test_a_month_at_exactly_the_surge_factor_is_not_a_surge():
    # previous months 20, 20, 20: mean 20; 1.25 x 20 = 25
    at_factor = stability.surge_check(25, [20, 20, 20], factor=1.25, min_denominator=10)
    assert at_factor.assessable and at_factor.baseline == 20
    assert at_factor.surge is False


def test_a_month_just_above_the_surge_factor_is_a_surge():
    above = stability.surge_check(26, [20, 20, 20], factor=1.25, min_denominator=10)
    assert above.surge is True


def test_surge_needs_three_months_of_history_each_above_the_minimum():
    two_months = stability.surge_check(100, [20, 20], factor=1.25, min_denominator=10)
    assert (two_months.assessable, two_months.surge, two_months.baseline) == (False, False, None)
    thin_month = stability.surge_check(100, [20, 9, 20], factor=1.25, min_denominator=10)
    assert (thin_month.assessable, thin_month.surge) == (False, False)
    at_minimum = stability.surge_check(100, [10, 10, 10], factor=1.25, min_denominator=10)
    assert (at_minimum.assessable, at_minimum.surge) == (True, True)


def test_pressure_reasons_are_each_recorded():
    assert stability.pressure_reasons(
        surge=True, vacancy_rate=0.15, vacancy_threshold=0.15, caseload=21, max_caseload=20
    ) == [stability.SURGE, stability.VACANCY, stability.CASELOAD]
    assert (
        stability.pressure_reasons(
            surge=False, vacancy_rate=0.149, vacancy_threshold=0.15, caseload=20, max_caseload=20
        )
        == []
    )
    # without workforce figures, only the surge can make a pressure month
    assert (
        stability.pressure_reasons(
            surge=False, vacancy_rate=None, vacancy_threshold=0.15, caseload=None, max_caseload=None
        )
        == []
    )


def _months(pressure: tuple[int, int], other: tuple[int, int]):
    """Two pressure months and four others splitting the given pooled figures."""
    pn, pd = pressure
    on, od = other
    return [
        ("2026-01", False, on // 2, od // 2),
        ("2026-02", False, on - on // 2, od - od // 2),
        ("2026-03", True, pn // 2, pd // 2),
        ("2026-04", True, pn - pn // 2, pd - pd // 2),
    ]


def test_pooled_rates_and_difference():
    result = stability.stability(_months((30, 60), (160, 200)), margin=10, min_denominator=10)
    assert result.pressure.rate == pytest.approx(50.0)
    assert result.other.rate == pytest.approx(80.0)
    assert result.difference == pytest.approx(-30.0)
    assert result.pressure.months == ("2026-03", "2026-04")
    assert result.verdict == stability.UNSTABLE


def test_a_drop_within_the_margin_is_stable():
    result = stability.stability(_months((150, 200), (160, 200)), margin=10, min_denominator=10)
    assert result.difference == pytest.approx(-5.0)
    assert result.verdict == stability.STABLE


def test_a_drop_beyond_the_margin_with_overlapping_intervals_is_stable():
    # 5/10 vs 8/10: 30 points lower, but the Wilson intervals (23.7-76.3, 49.0-94.3) overlap
    result = stability.stability(_months((5, 10), (8, 10)), margin=10, min_denominator=10)
    assert result.difference == pytest.approx(-30.0)
    assert result.verdict == stability.STABLE


def test_not_assessable_below_the_minimum_denominator_on_either_side():
    few_pressure = stability.stability(_months((1, 9), (160, 200)), margin=10, min_denominator=10)
    assert few_pressure.verdict == stability.NOT_ASSESSABLE
    no_pressure = stability.stability([("2026-01", False, 80, 100)], margin=10, min_denominator=10)
    assert no_pressure.verdict == stability.NOT_ASSESSABLE
    assert no_pressure.difference is None


def test_the_detail_carries_rates_intervals_and_months():
    detail = stability.stability(
        _months((30, 60), (160, 200)), margin=10, min_denominator=10
    ).as_detail()
    assert detail["verdict"] == "unstable"
    assert detail["pressure"]["low"] < detail["pressure"]["rate"] < detail["pressure"]["high"]
    assert detail["other"]["months"] == ["2026-01", "2026-02"]
