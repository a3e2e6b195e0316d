"""A hand-built month (March 2026, Europe/London) for the assurance tests, on the small pathway of
the exception tests: intake within 48h of referral; assessment (needs home_risk) within 72h of
intake; follow_up (touchpoint) within 24h of a missed contact for high risk; escalation within 24h
of two missed contacts inside a week (high, medium).

North
  N-A  medium, language need, rural, stable   intake met; assessment late;        outcome stable
  N-B  low, no language need, urban, unstable intake late; assessment overdue
                                              (one incomplete assessment recorded)
  N-C  high, language need, disability        intake overdue; follow-ups met + late;
                                              escalation met; outcome ed_attendance (adverse)
South
  S-D  medium                                 intake met; assessment overdue;      outcome readmission
"""

from datetime import UTC, date, datetime

from pathways.models import Case
from tests.pathways.exception_helpers import at, build_version, complete, event

MONTH = date(2026, 3, 1)
# When March is computed, audited and reviewed: after the month has ended.
APRIL_5 = datetime(2026, 4, 5, tzinfo=UTC)


def march(day: int, hour: int = 9):
    return at(date(2026, 3, day), hour)


def case(version, site, ref, day, tier, **attributes) -> Case:
    return Case.objects.create(
        external_ref=ref,
        site=site,
        version=version,
        referral_at=march(day),
        risk_tier=tier,
        **attributes,
    )


def build_month(personas) -> dict[str, Case]:
    """Call inside the tenant scope."""
    version = build_version()
    a = case(
        version, personas.north, "N-A", 2, "medium",
        language_need=True, disability=False, rurality="rural", housing="stable",
    )  # fmt: skip
    complete(a, "intake", march(3))
    complete(a, "assessment", march(7, 10), home_risk="low")
    event(a, "outcome_recorded", march(20), outcome="stable_at_home")

    b = case(
        version, personas.north, "N-B", 5, "low",
        language_need=False, disability=False, rurality="urban", housing="unstable",
    )  # fmt: skip
    complete(b, "intake", march(8))
    complete(b, "assessment", march(9), complete=False)

    c = case(
        version, personas.north, "N-C", 10, "high",
        language_need=True, disability=True, rurality="urban", housing="stable",
    )  # fmt: skip
    event(c, "contact_missed", march(11, 10))
    event(c, "contact_missed", march(12, 10))
    complete(c, "follow_up", march(12, 9))
    event(c, "escalation_raised", march(13, 8))
    complete(c, "follow_up", march(14, 10))
    event(c, "outcome_recorded", march(25), outcome="ed_attendance")

    d = case(version, personas.south, "S-D", 3, "medium")
    complete(d, "intake", march(4))
    event(d, "outcome_recorded", march(20), outcome="readmission")
    return {"version": version, "N-A": a, "N-B": b, "N-C": c, "S-D": d}
