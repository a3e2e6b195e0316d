"""A small hand-built pathway, cases and events for the exception report and queue tests.

The version's rows are created while it is a draft and then marked active with ``.update`` (an
active version refuses changes through ``save``)."""

import hashlib
import itertools
from datetime import UTC, date, datetime, timedelta

from pathways.models import (
    Case,
    CaseEvent,
    EscalationRule,
    ExceptionReportLine,
    Pathway,
    PathwayVersion,
    Step,
    TimeStandard,
)

_event_numbers = itertools.count(1)

DAY = date(2026, 3, 2)


def at(day: date, hour: int = 0, minute: int = 0, tz=UTC) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


def build_version(slug: str = "h2h") -> PathwayVersion:
    """intake within 48h of referral; assessment (needs home_risk) within 72h of intake;
    follow_up within 24h of a missed contact (high risk); escalate within 24h of 2 missed
    contacts inside a week (high, medium)."""
    pathway = Pathway.objects.create(slug=slug, name="Hospital to home")
    version = PathwayVersion.objects.create(pathway=pathway, number=1, name="Hospital to home")
    intake = Step.objects.create(
        version=version, key="intake", name="Intake", kind="intake", order=1
    )
    assessment = Step.objects.create(
        version=version,
        key="assessment",
        name="Risk assessment",
        kind="assessment",
        required_fields=["home_risk"],
        order=2,
    )
    follow_up = Step.objects.create(
        version=version, key="follow_up", name="Follow-up", kind="touchpoint", order=3
    )
    TimeStandard.objects.create(
        version=version, step=intake, position=0, anchor="referral", within_hours=48
    )
    TimeStandard.objects.create(
        version=version, step=assessment, position=0, anchor="step:intake", within_hours=72
    )
    TimeStandard.objects.create(
        version=version,
        step=follow_up,
        position=0,
        tiers=["high"],
        anchor="contact_missed",
        within_hours=24,
    )
    EscalationRule.objects.create(
        version=version,
        key="repeated-missed-contacts",
        tiers=["high", "medium"],
        missed_contacts=2,
        window_hours=168,
        escalate_within_hours=24,
    )
    PathwayVersion.objects.filter(pk=version.pk).update(status=PathwayVersion.Status.ACTIVE)
    version.refresh_from_db()
    return version


def make_case(version, site, ref: str, referral_at: datetime, tier: str = "medium") -> Case:
    return Case.objects.create(
        external_ref=ref, site=site, version=version, referral_at=referral_at, risk_tier=tier
    )


def event(case, type_: str, occurred_at: datetime, step: str = "", **data) -> CaseEvent:
    number = next(_event_numbers)
    return CaseEvent.objects.create(
        event_id=f"evt-{number}",
        case=case,
        type=type_,
        step_key=step,
        occurred_at=occurred_at,
        data=data,
        content_hash=hashlib.sha256(str(number).encode()).hexdigest(),
    )


def complete(case, step: str, occurred_at: datetime, **data) -> CaseEvent:
    return event(case, "step_completed", occurred_at, step, **data)


def lines_of(report) -> set[tuple]:
    """A report's lines as comparable values (ids of lines change on every recompute)."""
    return set(
        ExceptionReportLine.objects.filter(report=report).values_list(
            "item__case__external_ref", "item__obligation_key", "kind", "due_at", "completed_at"
        )
    )


def overdue_case(version, site, ref: str, day: date = DAY, tier: str = "medium") -> Case:
    """A case whose intake (due 48h after referral) is overdue at the end of ``day``."""
    return make_case(version, site, ref, at(day - timedelta(days=3), 9), tier)
