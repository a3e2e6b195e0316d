"""Pure arithmetic of the assurance cycle: control limits, direct standardisation, equity flags
and drift checks. No database, no Django: each function is tested against hand-worked figures."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

RISK_TIERS = ("low", "medium", "high")


def rate(numerator: float | None, denominator: float | None) -> float | None:
    """Percent, or None when nothing was counted."""
    if not denominator:
        return None
    return 100.0 * (numerator or 0.0) / denominator


def measure_value(
    numerator: float | None, denominator: float | None, *, count: bool
) -> float | None:
    """A measure's figure: a count measure is its numerator, any other the percent ``rate``."""
    if count:
        return None if numerator is None else float(numerator)
    return rate(numerator, denominator)


# --- run charts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlPoint:
    label: str
    numerator: float
    denominator: float
    value: float | None  # percent
    lower: float | None  # percent, p-chart limits for this point's n
    upper: float | None
    special_cause: bool  # outside the limits


def p_chart(points: Sequence[tuple[str, float, float]]) -> tuple[float | None, list[ControlPoint]]:
    """A p-chart over ``(label, numerator, denominator)``: the centre line p̄ = Σnum / Σden and,
    per point, p̄ ± 3·sqrt(p̄(1-p̄)/n), clipped to [0, 100] percent."""
    total_num = sum(num for _, num, den in points if den)
    total_den = sum(den for _, _, den in points if den)
    if not total_den:
        return None, [
            ControlPoint(label, num, den, None, None, None, False) for label, num, den in points
        ]
    p_bar = total_num / total_den
    result = []
    for label, num, den in points:
        if not den:
            result.append(ControlPoint(label, num, den, None, None, None, False))
            continue
        sigma = math.sqrt(p_bar * (1 - p_bar) / den)
        lower, upper = max(0.0, p_bar - 3 * sigma), min(1.0, p_bar + 3 * sigma)
        p = num / den
        result.append(
            ControlPoint(label, num, den, 100 * p, 100 * lower, 100 * upper, p < lower or p > upper)
        )
    return 100 * p_bar, result


# --- comparators --------------------------------------------------------------------------


@dataclass(frozen=True)
class Standardised:
    rate: float | None  # the site's directly standardised rate, percent
    baseline_rate: float | None  # the baseline's rate on the same standard population, percent
    ratio: float | None  # rate / baseline_rate
    weights: dict[str, float]
    missing_tiers: tuple[str, ...]  # tiers with baseline weight but no site cases


def direct_standardise(
    site: dict[str, tuple[float, float]],
    baseline: dict[str, tuple[float, float]],
) -> Standardised:
    """Direct standardisation over risk tiers.

    ``site``: tier -> (adverse count, cases); ``baseline``: tier -> (rate percent, population).
    The standard population is the baseline's tier mix: weight_t = population_t / Σ population.
    Adjusted site rate = Σ_t site rate_t × weight_t; the baseline's rate on the same standard is
    Σ_t baseline rate_t × weight_t. A tier in which the site had no cases cannot be standardised:
    it is left out and the weights of the others are renormalised (and reported as missing)."""
    population = {t: float(baseline[t][1]) for t in RISK_TIERS if t in baseline}
    missing = tuple(t for t in population if population[t] > 0 and not site.get(t, (0, 0))[1])
    usable = {t: p for t, p in population.items() if p > 0 and t not in missing}
    total = sum(usable.values())
    if not total:
        return Standardised(None, None, None, {}, missing)
    weights = {t: p / total for t, p in usable.items()}
    adjusted = sum(100.0 * site[t][0] / site[t][1] * w for t, w in weights.items())
    expected = sum(float(baseline[t][0]) * w for t, w in weights.items())
    ratio = adjusted / expected if expected else None
    return Standardised(adjusted, expected, ratio, weights, missing)


# --- equity -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EquityFinding:
    dimension: str
    segment: str
    value: float | None
    overall: float | None
    denominator: float
    gap: float | None  # segment - overall, percentage points
    shortfall: float | None  # how far worse than overall (positive = worse)
    below_margin: bool
    widening: bool
    history: tuple[float | None, ...]  # shortfall per month, oldest first, ending this month

    @property
    def flagged(self) -> bool:
        return self.below_margin or self.widening


MET, AT_RISK, BREACHED = "met", "at_risk", "breached"
STATUS_WORDS = {MET: "Met", AT_RISK: "At risk", BREACHED: "Breached"}


def status_against(
    value: float | None, *, target: float, threshold: float, higher_is_better: bool
) -> str | None:
    """Met at or beyond the target, at risk between target and breach threshold, breached
    beyond the threshold; None without a value. One rule for contract terms and headline cards."""
    if value is None:
        return None
    if not higher_is_better:
        value, target, threshold = -value, -target, -threshold
    if value >= target:
        return MET
    return AT_RISK if value >= threshold else BREACHED


def shortfall(value: float | None, overall: float | None, higher_is_better: bool) -> float | None:
    if value is None or overall is None:
        return None
    return (overall - value) if higher_is_better else (value - overall)


def is_widening(history: Sequence[float | None], months: int) -> bool:
    """The shortfall grew month on month for the last ``months`` months and is a real shortfall
    now: ``months`` + 1 consecutive figures, each worse than the one before."""
    tail = list(history[-(months + 1) :])
    if len(tail) < months + 1 or any(v is None for v in tail):
        return False
    return tail[-1] > 0 and all(
        later > earlier for earlier, later in zip(tail, tail[1:], strict=False)
    )


def equity_findings(
    months: Sequence[dict[tuple[str, str], tuple[float, float]]],
    *,
    higher_is_better: bool,
    margin: float,
    widening_months: int,
    min_denominator: float,
) -> list[EquityFinding]:
    """Equity findings for the last month of ``months`` (oldest first). Each month maps
    (dimension, segment) -> (numerator, denominator), with ("all", "all") the overall figure.
    A subgroup is flagged when its shortfall from the overall rate exceeds ``margin`` points, or
    when its shortfall has widened for ``widening_months`` consecutive months and now exceeds
    half the margin (so that noise around a zero gap is not flagged); a figure over fewer than
    ``min_denominator`` cases is never flagged, nor used as a month of the widening run."""
    if not months:
        return []
    histories: dict[tuple[str, str], list[float | None]] = {}
    keys = [k for k in months[-1] if k[0] != "all"]
    for month in months:
        overall = rate(*month.get(("all", "all"), (0, 0)))
        for key in keys:
            num, den = month.get(key, (0, 0))
            value = rate(num, den) if den >= min_denominator else None
            histories.setdefault(key, []).append(shortfall(value, overall, higher_is_better))
    findings = []
    overall_now = rate(*months[-1].get(("all", "all"), (0, 0)))
    for dimension, segment in sorted(keys):
        num, den = months[-1][(dimension, segment)]
        value = rate(num, den)
        short = shortfall(value, overall_now, higher_is_better)
        enough = den >= min_denominator
        findings.append(
            EquityFinding(
                dimension,
                segment,
                value,
                overall_now,
                den,
                None if value is None or overall_now is None else value - overall_now,
                short,
                bool(enough and short is not None and short > margin),
                bool(
                    enough
                    and short is not None
                    and short > margin / 2
                    and is_widening(histories[(dimension, segment)], widening_months)
                ),
                tuple(histories[(dimension, segment)]),
            )
        )
    return findings


# --- drift --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftFinding:
    site_id: int
    basis: str  # "network" | "baseline"
    value: float
    reference: float
    denominator: float


def network_median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if len(present) >= 2 else None


def drift_findings(
    current: dict[int, tuple[float, float]],
    history: dict[int, list[tuple[float, float]]],
    *,
    margin: float,
    min_denominator: float,
    baseline_months: int = 3,
    min_baseline_months: int = 2,
) -> list[DriftFinding]:
    """Sites below the network median, or below their own baseline, by more than ``margin``.

    ``current``: site -> (numerator, denominator) this month. ``history``: site -> the previous
    months' (numerator, denominator), oldest first. The network median is over the sites with at
    least ``min_denominator`` cases (two or more needed); the baseline pools the site's last
    ``baseline_months`` months (at least ``min_baseline_months`` with cases)."""
    values = {
        site: rate(num, den) for site, (num, den) in current.items() if den >= min_denominator
    }
    centre = network_median(values.values())
    findings = []
    for site, value in sorted(values.items()):
        den = current[site][1]
        if centre is not None and value < centre - margin:
            findings.append(DriftFinding(site, "network", value, centre, den))
        previous = [(n, d) for n, d in history.get(site, [])[-baseline_months:] if d]
        if len(previous) >= min_baseline_months:
            baseline = rate(sum(n for n, _ in previous), sum(d for _, d in previous))
            if baseline is not None and value < baseline - margin:
                findings.append(DriftFinding(site, "baseline", value, baseline, den))
    return findings


def recovered(value: float | None, reference: float, margin: float) -> bool | None:
    """After a re-audit window: back within ``margin`` of the reference it had fallen below."""
    if value is None:
        return None
    return value >= reference - margin
