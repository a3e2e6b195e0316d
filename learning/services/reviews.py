"""Cross-site learning reviews: a session record that keeps the comparison and the patterns as
they were shown, the decisions taken and the actions raised."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from learning import selectors
from learning.models import ImprovementAction, LearningReview
from learning.services.actions import improvement_action_create
from learning.services.common import next_number, record, required


def site_comparison(*, sites, measures: list[str], start: date, end: date) -> dict:
    """Each site and the chosen sites pooled, per measure, over the months of the period."""
    months = selectors.months_between(start, end)
    info = selectors.measure_info(measures)
    totals = selectors.measure_totals(
        site_ids=[s.pk for s in sites], months=months, measures=measures
    )
    rows, pooled = [], {code: [0.0, 0.0] for code in measures}
    for site in sites:
        values = {}
        for code in measures:
            num, den = totals.get((site.pk, code, ""), [0.0, 0.0])
            pooled[code][0] += num
            pooled[code][1] += den
            values[code] = {
                "numerator": num,
                "denominator": den,
                "value": selectors.figure(num, den, info[code]["unit"]),
            }
        rows.append({"site": site.code, "name": site.name, "values": values})
    network = {
        code: {
            "numerator": num,
            "denominator": den,
            "value": selectors.figure(num, den, info[code]["unit"]),
        }
        for code, (num, den) in pooled.items()
    }
    return {
        "months": [m.strftime("%Y-%m") for m in months],
        "measures": [info[code] for code in measures],
        "rows": rows,
        "network": network,
    }


@transaction.atomic
def learning_review_create(
    *,
    title: str,
    cadence: str,
    period_start: date,
    period_end: date,
    held_on: date,
    sites,
    measures: list[str],
    attendees: str = "",
    decisions: str = "",
    by=None,
) -> LearningReview:
    sites = list(sites)
    errors = {}
    if cadence not in LearningReview.Cadence.values:
        errors["cadence"] = "Choose monthly or quarterly."
    if not period_start or not period_end or period_end < period_start:
        errors["period_end"] = "The period must end on or after the day it starts."
    if len(sites) < 2:
        errors["sites"] = "Compare at least two sites."
    if not measures:
        errors["measures"] = "Choose at least one measure to compare the sites on."
    if errors:
        raise ValidationError(errors)
    title = required(title, "title", "a title for the session")
    min_sites = selectors.learning_settings_get().pattern_min_sites
    patterns = selectors.deviation_patterns(start=period_start, end=period_end, min_sites=min_sites)
    review = LearningReview(
        number=next_number(LearningReview),
        title=title[:200],
        cadence=cadence,
        period_start=period_start,
        period_end=period_end,
        held_on=held_on,
        measures=list(measures),
        attendees=(attendees or "").strip(),
        decisions=(decisions or "").strip(),
        comparison=site_comparison(
            sites=sorted(sites, key=lambda s: s.code),
            measures=list(measures),
            start=period_start,
            end=period_end,
        ),
        patterns=[p.as_dict() | {"min_sites": min_sites} for p in patterns],
        created_by=by,
    )
    codes = ", ".join(sorted(s.code for s in sites))
    record(review, by=by, reason=f"Recorded; sites compared: {codes}")
    review.save()
    review.sites.set(sites)
    return review


def learning_review_record_decisions(
    *, review: LearningReview, by, decisions: str, attendees: str | None = None
) -> LearningReview:
    review.decisions = required(decisions, "decisions", "the decisions taken")
    if attendees is not None:
        review.attendees = attendees.strip()
    record(review, by=by, reason="Decisions recorded")
    review.save(update_fields=["decisions", "attendees", "updated_at"])
    return review


def learning_review_raise_action(
    *, review: LearningReview, by, title: str, owner, deadline: date, site=None,
    description: str = "",
) -> ImprovementAction:  # fmt: skip
    return improvement_action_create(
        title=title,
        owner=owner,
        deadline=deadline,
        by=by,
        site=site,
        description=description,
        source_kind=ImprovementAction.Source.LEARNING_REVIEW,
        source_model="learningreview",
        source_id=review.pk,
        source_label=str(review),
        review=review,
    )
