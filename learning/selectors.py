"""Reads of the learning app. Pages narrow everything to the member's visible sites; network-wide
actions (no site) are visible to every member. Figures for comparisons and evaluations come from
the current revision of the assurance snapshots (aggregates only, never a case)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from assurance import analysis
from assurance.models import MetricDefinition, SnapshotValue
from assurance.selectors import current_snapshot_ids
from assurance.services.metrics import BUILTIN_METRICS
from learning.models import (
    ChangeProposal,
    Deviation,
    ImprovementAction,
    LearningReview,
    LearningSettings,
)
from scaling_ops import tenancy
from scaling_ops.dates import month_add
from scaling_ops.models import Membership, Organization, Site
from scaling_ops.selectors import visible_sites

PAGE_SIZE = 25


def organization_today() -> date:
    organization = Organization.objects.get(pk=tenancy.current_organization_id())
    return timezone.localdate(timezone=organization.zone)


def learning_settings_get() -> LearningSettings:
    """The stored settings, or the defaults (unsaved) when none were stored yet."""
    return LearningSettings.objects.first() or LearningSettings()


# --- months and quarters ---------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return month_add(day, 1)


def months_between(start: date, end: date) -> list[date]:
    """First days of the months from ``start``'s month to ``end``'s month, inclusive."""
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def quarter_end(start: date) -> date:
    """The last day of the quarter starting on ``start``."""
    return next_month(next_month(next_month(start))) - timedelta(days=1)


def quarter_label(start: date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def quarter_parse(value: str) -> date | None:
    """``2026-Q3`` -> 2026-07-01; None when it is not a quarter."""
    try:
        year, quarter = value.strip().upper().split("-Q")
        number = int(quarter)
        if not 1 <= number <= 4:
            return None
        return date(int(year), 3 * (number - 1) + 1, 1)
    except (ValueError, AttributeError):
        return None


# --- improvement actions -----------------------------------------------------------------------


def _site_scope(membership: Membership) -> Q:
    return Q(site__isnull=True) | Q(site__in=visible_sites(membership))


def actions(
    *,
    membership: Membership,
    site: str = "",
    status: str = "",
    source_kind: str = "",
    owner_id: int | None = None,
    overdue: bool = False,
    q: str = "",
    today: date | None = None,
) -> QuerySet[ImprovementAction]:
    found = ImprovementAction.objects.filter(_site_scope(membership)).select_related(
        "site", "owner"
    )
    if site == "network":
        found = found.filter(site__isnull=True)
    elif site:
        found = found.filter(site__code=site)
    if status == "active":
        found = found.filter(status__in=ImprovementAction.OPEN_STATUSES)
    elif status:
        found = found.filter(status=status)
    if source_kind:
        found = found.filter(source_kind=source_kind)
    if owner_id:
        found = found.filter(owner_id=owner_id)
    if overdue:
        found = overdue_actions(found, today=today)
    if q:
        found = found.filter(Q(title__icontains=q) | Q(description__icontains=q))
        if membership.is_read_only:
            # A search must not tell a commissioner what unpublished text says.
            found = found.filter(published_to_commissioners=True)
    return found.order_by("deadline", "number")


def overdue_actions(found: QuerySet[ImprovementAction], *, today: date | None = None):
    """Open or in progress past their deadline (organisation-local today)."""
    today = today or organization_today()
    return found.filter(status__in=ImprovementAction.OPEN_STATUSES, deadline__lt=today)


def action_is_overdue(action: ImprovementAction, today: date) -> bool:
    return action.status in ImprovementAction.OPEN_STATUSES and action.deadline < today


def action_for_member(*, membership: Membership, number: int) -> ImprovementAction | None:
    return (
        ImprovementAction.objects.filter(_site_scope(membership), number=number)
        .select_related("site", "owner", "created_by", "verified_by", "review")
        .first()
    )


def actions_for_source(*, model_name: str, pk: int) -> QuerySet[ImprovementAction]:
    return ImprovementAction.objects.filter(source_model=model_name, source_id=pk).order_by(
        "number"
    )


def overdue_counts(*, membership: Membership, user) -> tuple[int, int]:
    """(overdue actions the user owns, overdue actions in the member's sites)."""
    overdue = overdue_actions(ImprovementAction.objects.filter(_site_scope(membership)))
    return overdue.filter(owner=user).count(), overdue.count()


# --- deviations and patterns -------------------------------------------------------------------


def deviations(
    *,
    membership: Membership,
    site: str = "",
    category: str = "",
    step: str = "",
    quarter: date | None = None,
    from_exceptions: str = "",
) -> QuerySet[Deviation]:
    found = Deviation.objects.filter(site__in=visible_sites(membership)).select_related(
        "site", "logged_by"
    )
    if site:
        found = found.filter(site__code=site)
    if category:
        found = found.filter(category=category)
    if step:
        found = found.filter(step=step)
    if quarter:
        found = found.filter(occurred_on__gte=quarter, occurred_on__lte=quarter_end(quarter))
    if from_exceptions == "yes":
        found = found.filter(exception_id__isnull=False)
    elif from_exceptions == "no":
        found = found.filter(exception_id__isnull=True)
    return found.order_by("-occurred_on", "-number")


def deviation_for_member(*, membership: Membership, number: int) -> Deviation | None:
    return (
        Deviation.objects.filter(site__in=visible_sites(membership), number=number)
        .select_related("site", "logged_by")
        .first()
    )


def deviation_steps() -> list[str]:
    return sorted(set(Deviation.objects.values_list("step", flat=True)))


@dataclass
class Pattern:
    category: str
    category_label: str
    step: str
    sites: list[str]  # site names, sorted
    count: int
    flagged: bool

    @property
    def site_count(self) -> int:
        return len(self.sites)

    def as_dict(self) -> dict:
        return {
            "category": self.category,
            "category_label": self.category_label,
            "step": self.step,
            "sites": self.sites,
            "count": self.count,
            "flagged": self.flagged,
        }


def deviation_patterns(*, start: date, end: date, min_sites: int, site_ids=None) -> list[Pattern]:
    """The same deviation (category at a step) across sites between ``start`` and ``end``
    (inclusive): flagged as a design signal when seen at ``min_sites`` sites or more. One query."""
    rows = Deviation.objects.filter(occurred_on__gte=start, occurred_on__lte=end)
    if site_ids is not None:
        rows = rows.filter(site_id__in=site_ids)
    grouped: dict[tuple[str, str], dict] = defaultdict(lambda: {"sites": set(), "count": 0})
    for category, step, site_name in rows.values_list("category", "step", "site__name"):
        entry = grouped[(category, step)]
        entry["sites"].add(site_name)
        entry["count"] += 1
    labels = dict(Deviation.Category.choices)
    patterns = [
        Pattern(
            category,
            labels.get(category, category),
            step,
            sorted(entry["sites"]),
            entry["count"],
            len(entry["sites"]) >= min_sites,
        )
        for (category, step), entry in grouped.items()
    ]
    return sorted(patterns, key=lambda p: (not p.flagged, -p.site_count, -p.count, p.step))


# --- figures from assurance snapshots ----------------------------------------------------------


def measure_choices() -> list[tuple[str, str]]:
    """The organisation's metric definitions; the built-in set until its first snapshot has
    created them."""
    stored = list(MetricDefinition.objects.order_by("order", "code").values_list("code", "name"))
    return stored or [(metric.code, metric.name) for metric in BUILTIN_METRICS]


def measure_info(codes) -> dict[str, dict]:
    found = {
        m.code: {"code": m.code, "name": m.name, "unit": m.unit, "direction": m.direction}
        for m in MetricDefinition.objects.filter(code__in=list(codes))
    }
    # Before the organisation's first snapshot created its definitions: the built-in ones.
    builtin = {
        m.code: {"code": m.code, "name": m.name, "unit": str(m.unit), "direction": str(m.direction)}
        for m in BUILTIN_METRICS
    }
    return {
        code: found.get(code)
        or builtin.get(
            code, {"code": code, "name": code, "unit": "percent", "direction": "higher_is_better"}
        )
        for code in codes
    }


def measure_totals(*, site_ids, months, measures, steps=("",)) -> dict[tuple, list[float]]:
    """(site_id, measure, step) -> [Σ numerator, Σ denominator] over the months, from the current
    snapshot revisions, overall segment only. One query."""
    totals: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    values = SnapshotValue.objects.filter(
        snapshot_id__in=current_snapshot_ids(months=list(months), site_ids=list(site_ids)),
        measure__in=list(measures),
        step__in=list(steps),
        dimension="all",
    ).values_list("snapshot__site_id", "measure", "step", "numerator", "denominator")
    for site_id, measure, step, numerator, denominator in values:
        entry = totals[(site_id, measure, step)]
        entry[0] += numerator or 0.0
        entry[1] += denominator or 0.0
    return totals


def figure(numerator: float, denominator: float, unit: str) -> float | None:
    count = unit == MetricDefinition.Unit.COUNT
    value = analysis.measure_value(numerator, denominator, count=count)
    # Learning compares pilots by differences of rounded percents, as its pages show them.
    return value if count or value is None else round(value, 1)


# --- reviews and proposals ---------------------------------------------------------------------


def reviews(*, membership: Membership, cadence: str = "") -> QuerySet[LearningReview]:
    found = LearningReview.objects.select_related("created_by")
    if cadence:
        found = found.filter(cadence=cadence)
    return found.order_by("-held_on", "-number")


def review_get(*, number: int) -> LearningReview | None:
    return LearningReview.objects.filter(number=number).select_related("created_by").first()


def proposals(*, status: str = "", pathway: str = "") -> QuerySet[ChangeProposal]:
    found = ChangeProposal.objects.select_related(
        "pathway", "base_version", "adopted_version", "origin_site", "proposed_by"
    )
    if status:
        found = found.filter(status=status)
    if pathway:
        found = found.filter(pathway__slug=pathway)
    return found.order_by("-number")


def proposal_get(*, number: int) -> ChangeProposal | None:
    return (
        ChangeProposal.objects.filter(number=number)
        .select_related(
            "pathway",
            "base_version__pathway",
            "adopted_version__pathway",
            "origin_site",
            "proposed_by",
            "evaluated_by",
            "decided_by",
        )
        .first()
    )


def proposal_for_version(*, version_id: int) -> ChangeProposal | None:
    return (
        ChangeProposal.objects.filter(
            Q(adopted_version_id=version_id) | Q(pilot_version_id=version_id)
        )
        .select_related("pathway", "evaluated_by", "decided_by", "proposed_by")
        .first()
    )


def history_of(instance, limit: int = 50):
    return instance.history.select_related("history_user").order_by("-history_date", "-history_id")[
        :limit
    ]


def sites_in(site_ids) -> list[Site]:
    return list(Site.objects.filter(pk__in=list(site_ids)).order_by("code"))


# --- figures narrowed to the member's sites ------------------------------------------------------
# A review or an evaluation keeps the figures of every site it compared, as they were shown; a
# member scoped to some sites sees only the figures their sites make up.


def member_site_codes(membership: Membership) -> set[str]:
    return set(visible_sites(membership).values_list("code", flat=True))


def review_comparison_for_member(*, review: LearningReview, membership: Membership) -> dict:
    """The session's comparison with only the member's sites as rows; when a site was left
    out, the pooled figure is pooled over the member's sites alone (``narrowed``)."""
    comparison = review.comparison or {}
    codes = member_site_codes(membership)
    rows = [row for row in comparison.get("rows", []) if row.get("site") in codes]
    narrowed = len(rows) < len(comparison.get("rows", []))
    network = comparison.get("network", {})
    if narrowed:
        network = {}
        for measure in comparison.get("measures", []):
            code = measure["code"]
            num = sum(row["values"].get(code, {}).get("numerator") or 0.0 for row in rows)
            den = sum(row["values"].get(code, {}).get("denominator") or 0.0 for row in rows)
            network[code] = {
                "numerator": num,
                "denominator": den,
                "value": figure(num, den, measure["unit"]),
            }
    return {**comparison, "rows": rows, "network": network, "narrowed": narrowed}


def review_patterns_for_member(*, review: LearningReview, membership: Membership) -> list[dict]:
    """The patterns reviewed, naming only the member's sites (the others as a number)."""
    names = set(visible_sites(membership).values_list("name", flat=True))
    patterns = []
    for pattern in review.patterns or []:
        sites = [name for name in pattern.get("sites", []) if name in names]
        patterns.append(
            {**pattern, "sites": sites, "other_sites": len(pattern.get("sites", [])) - len(sites)}
        )
    return patterns


EVALUATION_GROUPS = {
    "pilot_sites": ("pilot_before", "pilot_during", "pilot_change"),
    "other_sites": ("others_before", "others_during", "others_change"),
}
EMPTY_RATE = {"numerator": None, "denominator": None, "value": None}


def evaluation_for_member(*, evaluation: dict, membership: Membership) -> dict:
    """A proposal's evaluation as the member may see it: a group of sites (pilot or others)
    holding a site outside the member's sites shows no figure, nor does the relative change
    that would give it away; the verdict stays (it is the decision's ground, not a site's
    figure). ``narrowed`` says figures were withheld."""
    if not evaluation:
        return evaluation
    return _with_site_names(_narrowed_for_member(evaluation, membership))


def _with_site_names(evaluation: dict) -> dict:
    """The evaluation keeps site codes (what a member's scope is checked against); pages and
    texts show the sites' names."""
    names = dict(Site.objects.values_list("code", "name"))
    return evaluation | {
        f"{group}_names": [names.get(code, code) for code in evaluation.get(group, [])]
        for group in EVALUATION_GROUPS
    }


def site_names_of(codes) -> list[str]:
    names = dict(Site.objects.filter(code__in=list(codes)).values_list("code", "name"))
    return [names.get(code, code) for code in codes]


def _narrowed_for_member(evaluation: dict, membership: Membership) -> dict:
    codes = member_site_codes(membership)
    hidden = [
        group
        for group in EVALUATION_GROUPS
        if any(code not in codes for code in evaluation.get(group, []))
    ]
    if not hidden:
        return {**evaluation, "narrowed": False}
    measures = []
    for row in evaluation.get("measures", []):
        row = {**row, "effect": None, "interval": None, "too_little_data": []}
        for group in hidden:
            before, during, change = EVALUATION_GROUPS[group]
            row.update({before: EMPTY_RATE, during: EMPTY_RATE, change: None})
        measures.append(row)
    narrowed = {**evaluation, "measures": measures, "narrowed": True, "pilot_cases": {}}
    for group in EVALUATION_GROUPS:
        sites = evaluation.get(group, [])
        narrowed[group] = [code for code in sites if code in codes]
        narrowed[f"{group}_elsewhere"] = len(sites) - len(narrowed[group])
    return narrowed


def evaluation_summary_for_member(*, proposal: ChangeProposal, membership: Membership) -> str:
    """The evaluation summary, or (when its figures include sites outside the member's) the
    verdict per measure alone."""
    evaluation = evaluation_for_member(evaluation=proposal.evaluation, membership=membership)
    if not evaluation or not evaluation.get("narrowed"):
        return proposal.evaluation_summary
    verdicts = " ".join(
        row["name"] + (f" ({row['step']})" if row["step"] else "") + f": {row['verdict']}."
        for row in evaluation.get("measures", [])
    )
    return f"{verdicts} (Figures withheld: the evaluation includes sites outside yours.)"
