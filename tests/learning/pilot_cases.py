"""Cases for the evaluation tests, in bulk: a pilot's evaluation is computed from the pathway's own
cases, so its tests build them (two inserts per call, not a query per case)."""

import hashlib
import itertools
from datetime import UTC, datetime, timedelta

from pathways.models import Case, CaseEvent
from scaling_ops import tenancy

FEB_REFERRAL = datetime(2026, 2, 2, 9, tzinfo=UTC)
MARCH_REFERRAL = datetime(2026, 3, 2, 9, tzinfo=UTC)
# An intake 10 hours after referral is on time against 36 or 48 hours; 60 hours is late for both.
ON_TIME, LATE = 10, 60
_batches = itertools.count(1)


def intake_cases(version, site, referral_at, *, met=0, late=0, hours=(ON_TIME, LATE)) -> list:
    """``met`` cases of ``version`` at ``site`` whose intake is completed ``hours[0]`` after the
    referral and ``late`` cases completed ``hours[1]`` after it."""
    batch = next(_batches)
    organization_id = tenancy.current_organization_id()
    cases = Case.objects.bulk_create(
        Case(
            organization_id=organization_id,
            external_ref=f"{site.code}-{batch}-{number}",
            site=site,
            version=version,
            referral_at=referral_at,
            risk_tier="medium",
        )
        for number in range(met + late)
    )
    CaseEvent.objects.bulk_create(
        CaseEvent(
            organization_id=organization_id,
            event_id=f"intake-{batch}-{number}",
            case=case,
            type="step_completed",
            step_key="intake",
            occurred_at=referral_at + timedelta(hours=hours[0] if number < met else hours[1]),
            data={},
            content_hash=hashlib.sha256(f"{batch}-{number}".encode()).hexdigest(),
        )
        for number, case in enumerate(cases)
    )
    return cases
