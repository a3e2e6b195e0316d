"""Stability under pressure (DESIGN.md section 4a): the pure arithmetic. No database, no
Django: each rule is tested against hand-worked figures (tests/assurance/test_stability.py).

- surge: a month's referrals above ``surge_factor`` × the mean of the previous three months,
  when each of those months has at least ``min_denominator`` referrals (else not assessable);
- pressure month: surge, or mean vacancy rate ≥ the threshold, or mean caseload above the
  standard's maximum, each reason recorded;
- stability of a process measure: the pooled rate (Σnum / Σden) of the pressure months against
  that of the other months of the window, each with a Wilson 95% interval; unstable when the
  pressure rate is lower by more than the drift margin and the intervals do not overlap; not
  assessable when either side's pooled denominator is below ``min_denominator``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

Z95 = 1.959963984540054

STABLE = "stable"
UNSTABLE = "unstable"
NOT_ASSESSABLE = "not_assessable"
VERDICT_LABELS = {
    STABLE: "Stable",
    UNSTABLE: "Unstable under pressure",
    NOT_ASSESSABLE: "Not assessable",
}

SURGE = "surge"
VACANCY = "vacancy"
CASELOAD = "caseload"
REASON_LABELS = {
    SURGE: "Referral surge",
    VACANCY: "Vacancy rate at or above the threshold",
    CASELOAD: "Mean caseload above the standard's maximum",
}


def wilson(numerator: float, denominator: float, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of numerator / denominator, in percent; None without cases."""
    if not denominator:
        return None
    p = numerator / denominator
    n = denominator
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return 100 * max(0.0, (centre - spread) / scale), 100 * min(1.0, (centre + spread) / scale)


@dataclass(frozen=True)
class Surge:
    volume: int
    baseline: float | None  # mean of the previous three months, when assessable
    assessable: bool
    surge: bool


def surge_check(
    volume: int, previous: Sequence[int], *, factor: float, min_denominator: float
) -> Surge:
    """``previous``: the three months before, oldest first (a month without cases is 0)."""
    last_three = list(previous[-3:])
    if len(last_three) < 3 or any(v < min_denominator for v in last_three):
        return Surge(volume, None, False, False)
    baseline = sum(last_three) / 3
    return Surge(volume, baseline, True, volume > factor * baseline)


def pressure_reasons(
    *,
    surge: bool,
    vacancy_rate: float | None,
    vacancy_threshold: float,
    caseload: float | None,
    max_caseload: float | None,
) -> list[str]:
    """Why a month is a pressure month (empty: it is not). ``vacancy_rate`` is a 0–1 share."""
    reasons = []
    if surge:
        reasons.append(SURGE)
    if vacancy_rate is not None and vacancy_rate >= vacancy_threshold - 1e-12:
        reasons.append(VACANCY)
    if caseload is not None and max_caseload is not None and caseload > max_caseload:
        reasons.append(CASELOAD)
    return reasons


@dataclass(frozen=True)
class Side:
    numerator: float
    denominator: float
    months: tuple[str, ...] = ()

    @property
    def rate(self) -> float | None:
        return 100 * self.numerator / self.denominator if self.denominator else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.numerator, self.denominator)

    def as_dict(self) -> dict:
        interval = self.interval
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": self.rate,
            "low": interval[0] if interval else None,
            "high": interval[1] if interval else None,
            "months": list(self.months),
        }


@dataclass(frozen=True)
class Stability:
    pressure: Side
    other: Side
    verdict: str
    difference: float | None  # pressure rate − other rate, percentage points
    reasons: list[str] = field(default_factory=list)

    def as_detail(self) -> dict:
        return {
            "verdict": self.verdict,
            "difference": self.difference,
            "pressure": self.pressure.as_dict(),
            "other": self.other.as_dict(),
        }


def stability(
    months: Sequence[tuple[str, bool, float, float]], *, margin: float, min_denominator: float
) -> Stability:
    """``months``: (label, pressure month?, numerator, denominator) over the window."""
    pressure = Side(
        sum(n for _, p, n, _ in months if p),
        sum(d for _, p, _, d in months if p),
        tuple(label for label, p, _, d in months if p),
    )
    other = Side(
        sum(n for _, p, n, _ in months if not p),
        sum(d for _, p, _, d in months if not p),
        tuple(label for label, p, _, d in months if not p),
    )
    if pressure.denominator < min_denominator or other.denominator < min_denominator:
        difference = (
            pressure.rate - other.rate
            if pressure.rate is not None and other.rate is not None
            else None
        )
        return Stability(pressure, other, NOT_ASSESSABLE, difference)
    difference = pressure.rate - other.rate
    low_p, high_p = pressure.interval
    low_o, high_o = other.interval
    overlap = high_p >= low_o and high_o >= low_p
    verdict = UNSTABLE if difference < -margin and not overlap else STABLE
    return Stability(pressure, other, verdict, difference)
