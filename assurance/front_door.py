"""Front-door measures of the monthly snapshot (README "The front door"): referral quality per
site and per referral source, and safeguarding response timeliness. Called from
``assurance.services.snapshots`` through two small calls; figures have the shape of
``assurance.measures.FIGURE_COLUMNS``.

Per source, figures carry ``dimension="referral_source"`` and the source as the segment (one
"not recorded" segment for referrals without one), so each source's numerators and denominators
add up to the site's (``dimension="all"``)."""

from collections import defaultdict
from dataclasses import dataclass, field

import pandas as pd
from django.db.models import Min, Q

from pathways.definitions import SAFEGUARDING_ANCHOR, PathwayDefinition
from pathways.models import Case, EventType, PathwayVersion, Step
from pathways.plausible_time import EARLIEST_PLAUSIBLE, plausible

NOT_RECORDED = "not recorded"
SOURCE = "referral_source"
COMPLETENESS = {True: "complete", False: "incomplete"}
# The days measure per source needs the completeness too: one dimension per completeness.
SOURCE_COMPLETENESS = {True: "source_complete", False: "source_incomplete"}
SOURCE_DIMENSIONS = (SOURCE, *SOURCE_COMPLETENESS.values())
REFERRAL_MEASURES = (
    "referral_incomplete_rate",
    "referral_ineligible_rate",
    "referral_missing_field",
    "referral_days_to_intake",
)
SAFEGUARDING_MEASURE = "safeguarding_response_timeliness"
COUNTED = ("met", "late", "overdue")


def referral_figures(*, start, end, cutoff) -> list[tuple]:
    """Referral quality of the cases referred in [start, min(end, cutoff)) on a pathway version
    that declares referral fields or eligibility rules: one query for those versions and their
    intake steps, one for the cases (with their first intake, if any, by the cutoff)."""
    versions = [
        pk
        for pk, front_door in PathwayVersion.objects.values_list("pk", "front_door")
        if front_door.get("referral_fields") or front_door.get("eligibility")
    ]
    if not versions:
        return []
    intake_keys = set(
        Step.objects.filter(version_id__in=versions, kind="intake").values_list("key", flat=True)
    )
    rows = (
        Case.objects.filter(
            plausible("referral_at", until=cutoff),
            version_id__in=versions,
            referral_at__gte=start,
            referral_at__lt=min(end, cutoff),
        )
        .annotate(
            intake_at=Min(
                "events__occurred_at",
                filter=Q(
                    events__type=EventType.STEP_COMPLETED,
                    events__step_key__in=intake_keys,
                    events__occurred_at__gte=EARLIEST_PLAUSIBLE,
                    events__occurred_at__lte=cutoff,
                ),
            )
        )
        .values_list(
            "site_id",
            "referral_source",
            "referral_missing_required",
            "referral_missing_recommended",
            "eligibility",
            "referral_at",
            "intake_at",
        )
    )
    sums: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])
    days: dict[tuple, list[float]] = defaultdict(lambda: [0.0, 0.0])  # total days, cases
    for (
        site_id,
        source,
        missing,
        recommended,
        eligibility,
        referral_at,
        intake_at,
    ) in rows.iterator():
        source = source or NOT_RECORDED
        complete = not missing
        for dimension, segment in (("all", "all"), (SOURCE, source)):
            key = (site_id, dimension, segment)
            _add(sums, ("referral_incomplete_rate", "", *key), not complete)
            if eligibility:
                _add(sums, ("referral_ineligible_rate", "", *key), eligibility == "ineligible")
            for missing_key in [*(missing or []), *(recommended or [])]:
                sums[("referral_missing_field", missing_key, *key)][0] += 1
        if intake_at is not None and intake_at >= referral_at:
            waited = (intake_at - referral_at).total_seconds() / 86400
            for key in (
                (site_id, "completeness", COMPLETENESS[complete]),
                (site_id, SOURCE_COMPLETENESS[complete], source),
            ):
                days[key][0] += waited
                days[key][1] += 1
    # Every missing-field figure of a segment shares that segment's referrals as denominator.
    referrals = {
        key[2:]: total for key, (_, total) in sums.items() if key[0] == "referral_incomplete_rate"
    }
    figures = [
        (site_id, measure, step, dimension, segment, numerator, denominator)
        for (measure, step, site_id, dimension, segment), (numerator, denominator) in sums.items()
        if measure != "referral_missing_field"
    ]
    # Each field missing anywhere at a site has a figure for every segment of the site (0 where
    # none lacked it), so that the sources' figures add up to the site's.
    fields_at: dict[int, set[str]] = defaultdict(set)
    for measure, step, site_id, _, _ in sums:
        if measure == "referral_missing_field":
            fields_at[site_id].add(step)
    figures += [
        (
            site_id,
            "referral_missing_field",
            step,
            dimension,
            segment,
            sums.get(("referral_missing_field", step, site_id, dimension, segment), [0.0])[0],
            total,
        )
        for (site_id, dimension, segment), total in referrals.items()
        for step in sorted(fields_at[site_id])
    ]
    # A count measure's value is its numerator: the mean days, over ``denominator`` referrals.
    figures += [
        (site_id, "referral_days_to_intake", "", dimension, segment, total / cases, cases)
        for (site_id, dimension, segment), (total, cases) in days.items()
    ]
    return figures


def withheld_dimensions(membership) -> tuple[str, ...]:
    """Referral sources are the partner's free text: a commissioner sees the site's figures,
    never the per-source ones, unless a person publishes them."""
    from scaling_ops.models import Role

    return SOURCE_DIMENSIONS if membership.role == Role.COMMISSIONER else ()


def _add(sums: dict, key: tuple, counted: bool) -> None:
    sums[key][0] += int(counted)
    sums[key][1] += 1


def safeguarding_figures(
    cases: pd.DataFrame,
    obligations: pd.DataFrame,
    definitions: dict[int, PathwayDefinition],
    *,
    start,
    end,
    cutoff,
) -> pd.DataFrame:
    """Safeguarding response timeliness of a chunk: obligations of standards anchored on a
    safeguarding concern, due in the month, met over met + late + overdue, per site."""
    columns = ["site_id", "measure", "step", "dimension", "segment", "numerator", "denominator"]
    standards = {
        (version_id, f"step:{step.key}/{position}")
        for version_id, definition in definitions.items()
        for step in definition.steps
        for position, standard in enumerate(step.time_standards)
        if standard.anchor == SAFEGUARDING_ANCHOR
    }
    if not standards or obligations.empty:
        return pd.DataFrame(columns=columns)
    start, end, cutoff = pd.Timestamp(start), pd.Timestamp(end), pd.Timestamp(cutoff)
    due = obligations[
        (obligations["source"] == "step")
        & (obligations["due_at"] >= start)
        & (obligations["due_at"] < end)
        & (obligations["due_at"] <= cutoff)
        & obligations["status"].isin(COUNTED)
    ]
    by_case = cases.set_index("case_id")
    version = due["case_id"].map(by_case["version_id"])
    standard = due["obligation_key"].str.split("@", n=1).str[0]
    chosen = [
        (version_id, key) in standards for version_id, key in zip(version, standard, strict=True)
    ]
    due = due[pd.Series(chosen, index=due.index, dtype=bool)]
    if due.empty:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        {
            "site_id": due["case_id"].map(by_case["site_id"]).to_numpy(),
            "numerator": (due["status"] == "met").astype(int).to_numpy(),
            "denominator": 1,
        }
    )
    grouped = frame.groupby("site_id", as_index=False)[["numerator", "denominator"]].sum()
    grouped = grouped.assign(measure=SAFEGUARDING_MEASURE, step="", dimension="all", segment="all")
    return grouped[columns]


# --- the referral-source ranking -----------------------------------------------------------------


@dataclass
class SourceRow:
    source: str
    referrals: int = 0
    incomplete: int = 0
    evaluated: int = 0
    ineligible: int = 0
    missing: dict = field(default_factory=dict)  # field name -> referrals missing it
    days: dict = field(default_factory=dict)  # complete | incomplete -> [total days, cases]
    sites: set = field(default_factory=set)

    @property
    def incomplete_rate(self) -> float | None:
        return 100.0 * self.incomplete / self.referrals if self.referrals else None

    @property
    def ineligible_rate(self) -> float | None:
        return 100.0 * self.ineligible / self.evaluated if self.evaluated else None

    @property
    def top_missing(self) -> list[tuple[str, int]]:
        missing = [(name, count) for name, count in self.missing.items() if count]
        return sorted(missing, key=lambda pair: (-pair[1], pair[0]))[:3]

    def mean_days(self, which: str) -> float | None:
        total, cases = self.days.get(which, (0.0, 0))
        return total / cases if cases else None

    @property
    def mean_days_complete(self) -> float | None:
        return self.mean_days("complete")

    @property
    def mean_days_incomplete(self) -> float | None:
        return self.mean_days("incomplete")


def referral_field_names() -> dict[str, str]:
    """Referral field key -> the name the pathways give it (the newest version's wins)."""
    names: dict[str, str] = {}
    for front_door in PathwayVersion.objects.order_by("number").values_list(
        "front_door", flat=True
    ):
        for item in front_door.get("referral_fields", []):
            names[item["key"]] = item["name"]
    return names


def referral_source_ranking(*, snapshot_ids, site_names: dict[int, str]) -> list[SourceRow]:
    """Referral sources across the snapshots' sites, pooled (Σ numerators over Σ
    denominators), worst incomplete-referral rate first: two queries."""
    from assurance.models import SnapshotValue

    names = referral_field_names()
    rows: dict[str, SourceRow] = {}
    values = SnapshotValue.objects.filter(
        snapshot_id__in=snapshot_ids,
        measure__in=REFERRAL_MEASURES,
        dimension__in=SOURCE_DIMENSIONS,
    ).values_list(
        "snapshot__site_id", "measure", "step", "dimension", "segment", "numerator", "denominator"
    )
    for site_id, measure, step, dimension, segment, numerator, denominator in values:
        row = rows.setdefault(segment, SourceRow(segment))
        numerator, denominator = numerator or 0.0, denominator or 0.0
        if measure == "referral_incomplete_rate":
            row.referrals += int(denominator)
            row.incomplete += int(numerator)
            row.sites.add(site_names.get(site_id, ""))
        elif measure == "referral_ineligible_rate":
            row.evaluated += int(denominator)
            row.ineligible += int(numerator)
        elif measure == "referral_missing_field":
            name = names.get(step, step.replace("_", " "))
            row.missing[name] = row.missing.get(name, 0) + int(numerator)
        elif measure == "referral_days_to_intake":
            which = "complete" if dimension == SOURCE_COMPLETENESS[True] else "incomplete"
            total, cases = row.days.get(which, (0.0, 0))
            row.days[which] = (total + numerator * denominator, cases + int(denominator))
    return sorted(
        rows.values(), key=lambda row: (-(row.incomplete_rate or 0.0), -row.referrals, row.source)
    )


def safeguarding_incident_figures(start, until) -> list[tuple]:
    """Safeguarding incidents and near misses per site in [start, until)."""
    from django.db.models import Count

    from assurance.models import Incident

    rows = (
        Incident.objects.filter(
            category=Incident.Category.SAFEGUARDING, occurred_at__gte=start, occurred_at__lt=until
        )
        .values("site_id")
        .annotate(count=Count("pk"))
        .values_list("site_id", "count")
    )
    return [
        (site_id, "safeguarding_incidents", "", "all", "all", count, None)
        for site_id, count in rows
    ]
