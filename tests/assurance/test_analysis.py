"""The assurance arithmetic against hand-worked figures: p-chart limits, direct standardisation,
equity flags and drift checks."""

import math

import pytest

from assurance import analysis


def test_p_chart_centre_line_is_pooled_and_limits_follow_each_months_n():
    # p̄ = (40 + 45 + 20) / (50 + 50 + 40) = 105 / 140 = 0.75
    centre, points = analysis.p_chart([("m1", 40, 50), ("m2", 45, 50), ("m3", 20, 40)])
    assert centre == pytest.approx(75.0)
    sigma_50 = math.sqrt(0.75 * 0.25 / 50)  # 0.061237
    sigma_40 = math.sqrt(0.75 * 0.25 / 40)  # 0.068465
    assert points[0].lower == pytest.approx(100 * (0.75 - 3 * sigma_50))  # 56.63
    assert points[0].upper == pytest.approx(100 * (0.75 + 3 * sigma_50))  # 93.37
    assert points[2].lower == pytest.approx(100 * (0.75 - 3 * sigma_40))  # 54.46
    assert points[2].upper == pytest.approx(100 * (0.75 + 3 * sigma_40))  # 95.54


def test_p_chart_marks_a_point_outside_its_limits_as_special_cause():
    centre, points = analysis.p_chart([("m1", 40, 50), ("m2", 45, 50), ("m3", 20, 40)])
    # m3 is 50%, below its lower limit of 54.46%; m1 (80%) and m2 (90%) are inside.
    assert [p.special_cause for p in points] == [False, False, True]
    assert points[2].value == pytest.approx(50.0)


def test_p_chart_limits_are_clipped_to_0_and_100():
    _, points = analysis.p_chart([("m1", 1, 2), ("m2", 2, 2)])
    assert points[0].lower == 0.0
    assert points[1].upper == 100.0


def test_p_chart_of_nothing_counted_has_no_centre():
    centre, points = analysis.p_chart([("m1", 0, 0)])
    assert centre is None
    assert points[0].value is None


def test_direct_standardisation_weights_site_rates_by_the_baselines_population():
    # Site: low 2/20 = 10%, medium 3/10 = 30%, high 4/8 = 50%.
    # Standard population 500/300/200 -> weights 0.5/0.3/0.2.
    # Adjusted = 10*.5 + 30*.3 + 50*.2 = 5 + 9 + 10 = 24%.
    # Baseline 10/20/40% on the same weights = 5 + 6 + 8 = 19%; ratio 24/19 = 1.263.
    result = analysis.direct_standardise(
        {"low": (2, 20), "medium": (3, 10), "high": (4, 8)},
        {"low": (10, 500), "medium": (20, 300), "high": (40, 200)},
    )
    assert result.rate == pytest.approx(24.0)
    assert result.baseline_rate == pytest.approx(19.0)
    assert result.ratio == pytest.approx(24 / 19)
    assert result.weights == pytest.approx({"low": 0.5, "medium": 0.3, "high": 0.2})
    assert result.missing_tiers == ()


def test_direct_standardisation_differs_from_the_crude_rate_when_case_mix_differs():
    # Crude site rate: 9 / 38 = 23.7%; the site sees many high-risk cases, so adjusting to a
    # population with fewer of them gives a different figure.
    crude = 100 * 9 / 38
    result = analysis.direct_standardise(
        {"low": (2, 20), "medium": (3, 10), "high": (4, 8)},
        {"low": (10, 500), "medium": (20, 300), "high": (40, 200)},
    )
    assert result.rate != pytest.approx(crude)


def test_a_tier_without_site_cases_is_left_out_and_the_weights_renormalised():
    # No low-risk cases: weights over medium/high = 300/500, 200/500 = 0.6/0.4.
    # Adjusted = 0*.6 + 100*.4 = 40; baseline = 20*.6 + 40*.4 = 28.
    result = analysis.direct_standardise(
        {"medium": (0, 1), "high": (1, 1)},
        {"low": (10, 500), "medium": (20, 300), "high": (40, 200)},
    )
    assert result.missing_tiers == ("low",)
    assert result.rate == pytest.approx(40.0)
    assert result.baseline_rate == pytest.approx(28.0)


def month(overall, **segments):
    data = {("all", "all"): overall}
    for key, value in segments.items():
        dimension, segment = key.split("__")
        data[(dimension, segment)] = value
    return data


def test_equity_flags_a_subgroup_more_than_the_margin_below_the_overall_rate():
    # Overall 80/100 = 80%; language yes 12/20 = 60% (20 points below); no 68/80 = 85%.
    findings = analysis.equity_findings(
        [month((80, 100), language_need__yes=(12, 20), language_need__no=(68, 80))],
        higher_is_better=True,
        margin=10,
        widening_months=2,
        min_denominator=10,
    )
    by_segment = {f.segment: f for f in findings}
    assert by_segment["yes"].gap == pytest.approx(-20.0)
    assert by_segment["yes"].below_margin is True
    assert by_segment["no"].gap == pytest.approx(5.0)
    assert by_segment["no"].flagged is False


def test_equity_never_flags_a_subgroup_under_the_minimum_denominator():
    findings = analysis.equity_findings(
        [month((80, 100), language_need__yes=(1, 5))],
        higher_is_better=True,
        margin=10,
        widening_months=2,
        min_denominator=10,
    )
    assert findings[0].gap == pytest.approx(-60.0)
    assert findings[0].flagged is False


def test_equity_flags_a_gap_that_widened_for_the_set_number_of_months():
    # Shortfalls 2, 5, 8 points (each month worse), all under the 10-point margin, now above
    # half of it: widened 2 months running.
    months = [
        month((80, 100), housing__homeless=(39, 50)),  # 78% -> shortfall 2
        month((80, 100), housing__homeless=(37.5, 50)),  # 75% -> 5
        month((80, 100), housing__homeless=(36, 50)),  # 72% -> 8
    ]
    [finding] = analysis.equity_findings(
        months, higher_is_better=True, margin=10, widening_months=2, min_denominator=10
    )
    assert finding.history == pytest.approx((2.0, 5.0, 8.0))
    assert finding.below_margin is False
    assert finding.widening is True


def test_equity_does_not_call_a_gap_widening_when_one_month_narrowed():
    months = [
        month((80, 100), housing__homeless=(37.5, 50)),  # 5
        month((80, 100), housing__homeless=(39, 50)),  # 2: narrowed
        month((80, 100), housing__homeless=(36, 50)),  # 8
    ]
    [finding] = analysis.equity_findings(
        months, higher_is_better=True, margin=10, widening_months=2, min_denominator=10
    )
    assert finding.widening is False


def test_equity_needs_enough_months_to_call_a_gap_widening():
    months = [
        month((80, 100), housing__homeless=(37.5, 50)),
        month((80, 100), housing__homeless=(36, 50)),
    ]
    [finding] = analysis.equity_findings(
        months, higher_is_better=True, margin=10, widening_months=2, min_denominator=10
    )
    assert finding.widening is False


def test_equity_for_a_lower_is_better_measure_flags_a_higher_rate():
    # Adverse outcomes: overall 10%, high tier 30% -> 20 points worse.
    [finding] = analysis.equity_findings(
        [month((10, 100), risk_tier__high=(6, 20))],
        higher_is_better=False,
        margin=10,
        widening_months=2,
        min_denominator=10,
    )
    assert finding.shortfall == pytest.approx(20.0)
    assert finding.below_margin is True


def test_drift_against_the_network_median():
    # Site rates 90%, 84%, 70%: median 84; site 3 is 14 points below (> 10): drift.
    findings = analysis.drift_findings(
        {1: (90, 100), 2: (84, 100), 3: (70, 100)}, {}, margin=10, min_denominator=10
    )
    assert [(f.site_id, f.basis, f.value, f.reference) for f in findings] == [
        (3, "network", 70.0, 84.0)
    ]


def test_drift_against_the_sites_own_pooled_three_month_baseline():
    # Site 1's last three months 80/100, 90/100, 85/100 pooled = 85%; now 70%: 15 below.
    # The month before those (10/100) is outside the 3-month window.
    history = {1: [(10, 100), (80, 100), (90, 100), (85, 100)]}
    findings = analysis.drift_findings({1: (70, 100)}, history, margin=10, min_denominator=10)
    assert [(f.basis, f.reference) for f in findings] == [("baseline", 85.0)]


def test_drift_needs_two_sites_for_a_median_and_two_months_for_a_baseline():
    assert (
        analysis.drift_findings({1: (10, 100)}, {1: [(90, 100)]}, margin=10, min_denominator=10)
        == []
    )


def test_a_small_site_is_left_out_of_the_median_and_never_flagged():
    findings = analysis.drift_findings(
        {1: (90, 100), 2: (80, 100), 3: (1, 5)}, {}, margin=5, min_denominator=10
    )
    # Median of 90 and 80 is 85; site 2 is 5 below (not more than 5); site 3 too small.
    assert findings == []


def test_recovery_means_back_within_the_margin_of_the_reference():
    assert analysis.recovered(75.0, reference=84.0, margin=10) is True
    assert analysis.recovered(73.0, reference=84.0, margin=10) is False
    assert analysis.recovered(None, reference=84.0, margin=10) is None


@pytest.mark.parametrize(
    ("numerator", "denominator", "count", "expected"),
    [
        (3, 4, False, 75.0),
        (3, 0, False, None),  # nothing counted: no rate, not 0 %
        (None, 5, False, 0.0),
        (7, 0, True, 7.0),  # a count measure is its numerator, whatever the denominator
        (None, None, True, None),
    ],
)
def test_a_measure_value_is_the_count_or_the_percent(numerator, denominator, count, expected):
    assert analysis.measure_value(numerator, denominator, count=count) == expected
