"""The monthly measures of DESIGN.md section 4 over one chunk of cases, set-based over pandas.

Input: the chunk's cases (the engine's CASE_COLUMNS plus ``site_id`` and the coded attributes),
all their events up to the cutoff (the engine's EVENT_COLUMNS), and the engine's obligations at
the cutoff. Output: partial sums with a numerator and a denominator: per site x measure x step x
segment combination (a cube, one group-by per measure and chunk), rolled up once by ``combine``
into one row per site x measure x step x dimension x segment. Chunks hold disjoint cases, so the
partial sums of all chunks add up to the month's figures. Nothing here touches the database.

Segmentation uses each case's attributes and its risk tier **at referral** (a later
``risk_tier_changed`` moves which time standards apply, not which group the case is counted in).
"""

import pandas as pd

from pathways import engine
from pathways.definitions import PathwayDefinition

DIMENSIONS = ("risk_tier", "language_need", "disability", "rurality", "housing")
SEGMENT_COLUMNS = ["case_id", "site_id", *DIMENSIONS]
CASE_FRAME_COLUMNS = [*engine.CASE_COLUMNS, "site_id", *DIMENSIONS[1:]]
FIGURE_COLUMNS = ["site_id", "measure", "step", "dimension", "segment", "numerator", "denominator"]
COUNTED_STATUSES = ("met", "late", "overdue")
MISSED_STATUSES = ("late", "overdue")


def segments(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per case with its site and its segment in each dimension, as text."""
    frame = cases[["case_id", "site_id", "risk_tier"]].copy()
    for column in ("language_need", "disability"):
        frame[column] = (
            cases[column].map({True: "yes", False: "no"}).astype("object").fillna("unknown")
        )
    for column in ("rurality", "housing"):
        frame[column] = cases[column].astype("object").where(cases[column].astype(bool), "unknown")
    return frame[SEGMENT_COLUMNS]


def empty_figures() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in FIGURE_COLUMNS})


CUBE_COLUMNS = ["site_id", "measure", "step", "by_step", *DIMENSIONS, "numerator", "denominator"]


def _aggregate(rows: pd.DataFrame, segs: pd.DataFrame, measure: str, by_step: bool) -> pd.DataFrame:
    """rows: case_id, step, numerator, denominator -> one chunk's partial sums per site x step x
    segment combination (CUBE_COLUMNS, one group-by). ``combine`` adds the chunks' cubes and
    rolls them up once into the figures overall and per step (``by_step``), by segment."""
    if rows.empty:
        return pd.DataFrame(columns=CUBE_COLUMNS)
    joined = rows.merge(segs, on="case_id", how="inner")
    keys = ["site_id", "step", *DIMENSIONS]
    cube = joined.groupby(keys, as_index=False, sort=False, dropna=False)[
        ["numerator", "denominator"]
    ].sum()
    cube["measure"] = measure
    cube["by_step"] = by_step
    return cube[CUBE_COLUMNS]


def _roll_up(cube: pd.DataFrame) -> pd.DataFrame:
    """The figures of summed cubes: each measure overall (step "") and, where ``by_step``, per
    step, in every dimension ("all" and each of DIMENSIONS) by segment."""
    parts = []
    for dimension in ("all", *DIMENSIONS):
        labelled = cube.assign(
            segment="all" if dimension == "all" else cube[dimension], dimension=dimension
        )
        overall = labelled.groupby(
            ["site_id", "measure", "dimension", "segment"], as_index=False, sort=False
        )[["numerator", "denominator"]].sum()
        overall["step"] = ""
        parts.append(overall)
        stepped = labelled[labelled["by_step"].astype(bool)]
        parts.append(
            stepped.groupby(
                ["site_id", "measure", "dimension", "segment", "step"], as_index=False, sort=False
            )[["numerator", "denominator"]].sum()
        )
    return pd.concat(parts, ignore_index=True)[FIGURE_COLUMNS]


def _step_kinds(definitions: dict[int, PathwayDefinition]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (version_id, step.key, step.kind, tuple(step.required_fields))
            for version_id, definition in definitions.items()
            for step in definition.steps
        ],
        columns=["version_id", "step", "kind", "required_fields"],
    )


def _obligation_rows(obligations: pd.DataFrame, numerator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "case_id": obligations["case_id"].to_numpy(),
            "step": obligations["step"].astype("object").to_numpy(),
            "numerator": numerator.astype(int).to_numpy(),
            "denominator": 1,
        }
    )


def month_figures(
    cases: pd.DataFrame,
    events: pd.DataFrame,
    obligations: pd.DataFrame,
    definitions: dict[int, PathwayDefinition],
    *,
    start,
    end,
    cutoff,
    adverse_outcomes,
) -> list[pd.DataFrame]:
    """The chunk's partial sums of every event-derived measure for the month [start, end),
    counted up to ``cutoff`` (the month's end, or now for a month still running): a cube
    (CUBE_COLUMNS) and figures (FIGURE_COLUMNS), for ``combine``."""
    start, end, cutoff = pd.Timestamp(start), pd.Timestamp(end), pd.Timestamp(cutoff)
    if cases.empty:
        return []
    segs = segments(cases)
    versions = cases[["case_id", "version_id"]]
    kinds = _step_kinds(definitions)
    parts = []

    due = obligations[
        (obligations["due_at"] >= start)
        & (obligations["due_at"] < end)
        & (obligations["due_at"] <= cutoff)
        & obligations["status"].isin(COUNTED_STATUSES)
    ]
    steps = due[due["source"] == "step"]
    parts.append(
        _aggregate(_obligation_rows(steps, steps["status"] == "met"), segs, "timeliness", True)
    )
    touch = steps.merge(versions, on="case_id").merge(
        kinds[["version_id", "step", "kind"]], on=["version_id", "step"]
    )
    touch = touch[touch["kind"] == "touchpoint"]
    parts.append(
        _aggregate(
            _obligation_rows(touch, touch["status"].isin(("met", "late"))),
            segs,
            "touchpoint_completion",
            True,
        )
    )
    escalations = due[due["source"] == "escalation"]
    parts.append(
        _aggregate(
            _obligation_rows(escalations, escalations["status"] == "met"),
            segs,
            "escalation_adherence",
            True,
        )
    )

    in_month = events[
        (events["occurred_at"] >= start)
        & (events["occurred_at"] < end)
        & (events["occurred_at"] <= cutoff)
    ]
    parts.append(_assessments(in_month, versions, kinds, segs))
    outcomes = _outcome_cases(in_month, set(adverse_outcomes))
    if not outcomes.empty:
        parts.append(
            _aggregate(
                pd.DataFrame(
                    {
                        "case_id": outcomes["case_id"].to_numpy(),
                        "step": "",
                        "numerator": outcomes["adverse"].astype(int).to_numpy(),
                        "denominator": 1,
                    }
                ),
                segs,
                "adverse_outcome_rate",
                False,
            )
        )
        parts.append(_attribution(outcomes, obligations, versions, definitions, segs))
    cubes = [p for p in parts if not p.empty and "by_step" in p.columns]
    figures = [p for p in parts if not p.empty and "by_step" not in p.columns]
    result = []
    if cubes:
        result.append(pd.concat(cubes, ignore_index=True))
    if figures:
        result.append(pd.concat(figures, ignore_index=True))
    return result


def _assessments(in_month, versions, kinds, segs) -> pd.DataFrame:
    """Assessment completeness: every assessment-kind step_completed in the month; complete when
    ``data.complete`` is not false and every required field is present."""
    done = in_month[in_month["type"] == "step_completed"].merge(versions, on="case_id")
    done = done.merge(kinds, on=["version_id", "step"])
    done = done[done["kind"] == "assessment"]
    if done.empty:
        return pd.DataFrame(columns=CUBE_COLUMNS)
    complete = [
        isinstance(data, dict)
        and data.get("complete") is not False
        and all(field in data for field in required)
        for data, required in zip(done["data"], done["required_fields"], strict=True)
    ]
    rows = pd.DataFrame(
        {
            "case_id": done["case_id"].to_numpy(),
            "step": done["step"].astype("object").to_numpy(),
            "numerator": pd.Series(complete, dtype=int).to_numpy(),
            "denominator": 1,
        }
    )
    return _aggregate(rows, segs, "assessment_completeness", True)


def _outcome_cases(in_month: pd.DataFrame, adverse: set[str]) -> pd.DataFrame:
    """Cases with an outcome recorded in the month: adverse when any of their outcomes in the
    month is adverse; ``at`` is their first adverse outcome (else their first outcome)."""
    recorded = in_month[in_month["type"] == "outcome_recorded"]
    if recorded.empty:
        return pd.DataFrame(columns=["case_id", "adverse", "at"])
    codes = [d.get("outcome") if isinstance(d, dict) else None for d in recorded["data"]]
    recorded = recorded.assign(adverse=[code in adverse for code in codes])
    first_any = recorded.groupby("case_id")["occurred_at"].min()
    first_adverse = recorded[recorded["adverse"]].groupby("case_id")["occurred_at"].min()
    frame = pd.DataFrame({"first_any": first_any})
    frame["first_adverse"] = first_adverse.reindex(frame.index)
    frame["adverse"] = frame["first_adverse"].notna()
    frame["at"] = frame["first_adverse"].where(frame["adverse"], frame["first_any"])
    return frame.reset_index()[["case_id", "adverse", "at"]]


def _attribution(outcomes, obligations, versions, definitions, segs) -> pd.DataFrame:
    """Per step: the share of cases with an (adverse | other) outcome whose obligations of that
    step due before the outcome were missed or late. Denominator: every case of the group whose
    pathway version has the step; step "" counts any step missed or late."""
    timed = pd.DataFrame(
        [
            (version_id, key)
            for version_id, definition in definitions.items()
            for key in (
                [s.key for s in definition.steps if s.time_standards]
                + [r.key for r in definition.escalation_rules]
            )
        ],
        columns=["version_id", "step"],
    )
    # Missed or late first: a small share of the chunk's obligations is joined to the outcomes.
    missed_or_late = obligations[obligations["status"].isin(MISSED_STATUSES)]
    upstream = missed_or_late.merge(outcomes[["case_id", "at"]], on="case_id")
    upstream = upstream[upstream["due_at"] <= upstream["at"]]
    missed = set(zip(upstream["case_id"], upstream["step"], strict=True))
    missed_any = set(upstream["case_id"])
    cases = outcomes.merge(versions, on="case_id")
    per_step = cases.merge(timed, on="version_id")
    per_step["numerator"] = [
        int((case_id, step) in missed)
        for case_id, step in zip(per_step["case_id"], per_step["step"], strict=True)
    ]
    overall = cases.assign(step="", numerator=[int(c in missed_any) for c in cases["case_id"]])
    rows = pd.concat([per_step, overall], ignore_index=True)
    rows["denominator"] = 1
    rows["group"] = rows["adverse"].map({True: "adverse", False: "other"})
    joined = rows.merge(segs[["case_id", "site_id"]], on="case_id")
    figures = joined.groupby(["site_id", "step", "group"], as_index=False, sort=False)[
        ["numerator", "denominator"]
    ].sum()
    figures = figures.rename(columns={"group": "segment"})
    figures["dimension"] = "outcome"
    figures["measure"] = "outcome_attribution"
    return figures[FIGURE_COLUMNS]


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The month's figures from the chunks' partial sums: cubes (CUBE_COLUMNS, from
    ``month_figures``) are added up and rolled up once; parts already in FIGURE_COLUMNS (other
    measures' figures) are added as they are."""
    parts = [p for p in parts if not p.empty]
    cubes = [p for p in parts if "by_step" in p.columns]
    figures = [p for p in parts if "by_step" not in p.columns]
    if cubes:
        cube = pd.concat(cubes, ignore_index=True)
        cube = cube.groupby(
            ["site_id", "measure", "step", "by_step", *DIMENSIONS],
            as_index=False,
            sort=False,
            dropna=False,
        )[["numerator", "denominator"]].sum()
        figures.append(_roll_up(cube))
    if not figures:
        return empty_figures()
    frame = pd.concat(figures, ignore_index=True)
    return frame.groupby(
        ["site_id", "measure", "step", "dimension", "segment"], as_index=False, sort=True
    )[["numerator", "denominator"]].sum()
