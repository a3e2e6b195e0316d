"""Metric definitions as data, and the organisation's assurance settings."""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError

from assurance.models import AssuranceSettings, MetricDefinition
from scaling_ops.dates import local_window, month_add
from scaling_ops.models import Organization


@dataclass(frozen=True)
class Builtin:
    code: str
    name: str
    numerator: str
    denominator: str
    unit: str = MetricDefinition.Unit.PERCENT
    direction: str = MetricDefinition.Direction.HIGHER
    process: bool = False
    description: str = ""
    # The organisation's default target and breach threshold (headline cards).
    target: float | None = None
    breach_threshold: float | None = None


# The measures of DESIGN.md section 4, in the order the dashboards show them.
BUILTIN_METRICS = (
    Builtin(
        "timeliness",
        "Timeliness compliance",
        "Step obligations due in the month that were met (completed by their due time)",
        "Step obligations due in the month that were met, late or overdue (void ones left out)",
        process=True,
        description="Per step and overall, from the pathway's time standards.",
        target=90,
        breach_threshold=75,
    ),
    Builtin(
        "touchpoint_completion",
        "Touchpoint completion",
        "Touchpoint obligations due in the month completed at all by the month's end",
        "Touchpoint obligations due in the month (void ones left out)",
        process=True,
        target=90,
        breach_threshold=75,
    ),
    Builtin(
        "escalation_adherence",
        "Escalation adherence",
        "Escalation obligations due in the month met within the rule's time",
        "Escalation obligations due in the month (void ones left out)",
        process=True,
        target=95,
        breach_threshold=80,
    ),
    Builtin(
        "assessment_completeness",
        "Assessment completeness",
        "Assessments recorded in the month that are complete (not marked incomplete and "
        "holding every required field)",
        "Assessment-kind steps recorded in the month",
        process=True,
        target=90,
        breach_threshold=75,
    ),
    Builtin(
        "audit_score",
        "Record audit score",
        "Audit questions answered yes in the month's sampled records",
        "Audit questions answered yes or no (not applicable left out)",
        target=90,
        breach_threshold=75,
    ),
    Builtin(
        "incidents",
        "Incidents",
        "Incidents that occurred in the month, overall and by the step where they failed",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "near_misses",
        "Near misses",
        "Near misses that occurred in the month, overall and by the step where they failed",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "adverse_outcome_rate",
        "Adverse outcome rate",
        "Cases with an adverse outcome recorded in the month (codes in the settings)",
        "Cases with any outcome recorded in the month",
        direction=MetricDefinition.Direction.LOWER,
        target=10,
        breach_threshold=20,
    ),
    Builtin(
        "adverse_outcome_rate_adjusted",
        "Adverse outcome rate, risk-adjusted",
        "Sum over risk tiers of the site's adverse outcome rate in the tier times the tier's "
        "weight in the comparator baseline's population (direct standardisation)",
        "The standard population: the comparator baseline's tier mix",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "outcome_attribution",
        "Upstream steps missed or late",
        "Cases of the group (adverse or other outcome) with an obligation of the step due "
        "before the outcome that was missed or late",
        "Cases of the group whose pathway has the step",
        direction=MetricDefinition.Direction.LOWER,
    ),
    # The front door (README "The front door"; assurance.front_door), per site and per
    # referral source (dimension referral_source).
    Builtin(
        "referral_incomplete_rate",
        "Incomplete referrals",
        "Referrals in the month missing a field the pathway requires",
        "Referrals in the month on a pathway that declares its referral fields",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "referral_missing_field",
        "Referrals missing a field",
        "Referrals in the month missing the field (one figure per field)",
        "Referrals in the month on a pathway that declares its referral fields",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "referral_ineligible_rate",
        "Ineligible referrals",
        "Referrals in the month that fail an eligibility rule",
        "Referrals in the month whose eligibility was evaluated",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "referral_days_to_intake",
        "Days from referral to intake",
        "Mean days from referral to the first intake, for complete and for incomplete referrals",
        "Referrals in the month with an intake recorded",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "safeguarding_incidents",
        "Safeguarding incidents",
        "Incidents and near misses of the safeguarding category that occurred in the month",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "safeguarding_response_timeliness",
        "Safeguarding response timeliness",
        "Safeguarding responses due in the month given within the pathway's standard (e.g. 4 h "
        "of the concern being raised)",
        "Safeguarding responses due in the month that were met, late or overdue",
        process=True,
    ),
)
# Stability under pressure (DESIGN.md section 4a): the pressure figures of each site-month and
# the count of unstable verdicts, usable in contract terms like any other definition.
PRESSURE_METRICS = (
    Builtin(
        "referral_volume",
        "Referral volume",
        "Cases referred in the month (a surge: above the surge factor times the mean of the "
        "previous three months)",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "caseload_mean",
        "Mean caseload per practitioner",
        "Mean over the month's days of open assigned cases per practitioner in post holding any",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "caseload_above_max",
        "Practitioner-days above the maximum caseload",
        "Practitioner-days with more open cases than the workforce standard's maximum",
        "Practitioner-days holding any open case",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "staffing_gap",
        "Staffing gap (FTE)",
        "Mean over the month's days of the funded establishment FTE not filled by staff in post",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "vacancy_rate",
        "Vacancy rate",
        "Sum over the month's days of the day's staffing gap over the establishment FTE",
        "Days with a funded establishment",
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "pressure_month",
        "Pressure month",
        "1 when the month is a pressure month (referral surge, vacancy rate at or above the "
        "threshold, or mean caseload above the maximum), else 0",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
    Builtin(
        "unstable_measures",
        "Measures unstable under pressure",
        "Process measures (overall or for high-risk cases) whose stability verdict over the "
        "trailing window is 'unstable under pressure'",
        "",
        unit=MetricDefinition.Unit.COUNT,
        direction=MetricDefinition.Direction.LOWER,
    ),
)
BUILTIN_METRICS = BUILTIN_METRICS + PRESSURE_METRICS
BUILTIN_CODES = tuple(metric.code for metric in BUILTIN_METRICS)
PROCESS_MEASURES = tuple(metric.code for metric in BUILTIN_METRICS if metric.process)
COUNT_MEASURES = tuple(
    metric.code for metric in BUILTIN_METRICS if metric.unit == MetricDefinition.Unit.COUNT
)


def metric_definitions_ensure() -> dict[str, MetricDefinition]:
    """Creates the built-in definitions of the bound organisation once; idempotent, and never
    overwrites a definition an organisation has edited."""
    existing = {m.code: m for m in MetricDefinition.objects.all()}
    missing = [
        MetricDefinition(
            code=metric.code,
            name=metric.name,
            description=metric.description,
            numerator=metric.numerator,
            denominator=metric.denominator,
            unit=metric.unit,
            direction=metric.direction,
            process=metric.process,
            target=metric.target,
            breach_threshold=metric.breach_threshold,
            builtin=True,
            order=index * 10,
        )
        for index, metric in enumerate(BUILTIN_METRICS)
        if metric.code not in existing
    ]
    for metric in missing:
        metric.save()
        existing[metric.code] = metric
    return existing


def assurance_settings_get() -> AssuranceSettings:
    """The bound organisation's settings, created with defaults on first use."""
    found = AssuranceSettings.objects.first()
    if found is None:
        found = AssuranceSettings()
        found.save()
    return found


SETTING_FIELDS = (
    "equity_margin",
    "equity_widening_months",
    "drift_margin",
    "min_denominator",
    "audit_sample_size",
    "reaudit_window_days",
    "adverse_outcomes",
    "surge_factor",
    "vacancy_threshold",
    "stability_window_months",
)


def assurance_settings_update(*, by=None, **values) -> AssuranceSettings:
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown settings: {', '.join(sorted(unknown))}.")
    current = assurance_settings_get()
    codes = values.get("adverse_outcomes")
    if codes is not None:
        if isinstance(codes, str):
            codes = [c.strip() for c in codes.split(",")]
        codes = [c for c in dict.fromkeys(codes) if c]
        if not codes:
            raise ValidationError({"adverse_outcomes": "Name at least one adverse outcome code."})
        values["adverse_outcomes"] = codes
    for name, value in values.items():
        setattr(current, name, value)
    current.full_clean(exclude=["organization"])
    current._change_reason = "Assurance settings changed"
    current.save()
    return current


# --- months -------------------------------------------------------------------------------


def month_parse(value: str) -> date:
    """``YYYY-MM`` -> the first day of that month."""
    try:
        parsed = datetime.strptime(value.strip(), "%Y-%m")
    except (ValueError, AttributeError):
        raise ValidationError(f"{value!r} is not a month; use YYYY-MM, e.g. 2026-03.") from None
    return parsed.date()


def month_window(*, organization: Organization, month: date) -> tuple[datetime, datetime]:
    """[start, end) of the organisation-local month in UTC."""
    return local_window(zone=organization.zone, start=month.replace(day=1), end=month_add(month, 1))
