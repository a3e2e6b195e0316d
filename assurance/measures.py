"""The monthly measures of DESIGN.md section 4 over one chunk of cases, set-based over pandas.

Input: the chunk's cases (the engine's CASE_COLUMNS plus ``site_id`` and the coded attributes),
all their events up to the cutoff (the engine's EVENT_COLUMNS), and the engine's obligations at
the cutoff. Output: partial sums with a numerator and a denominator: per site x measure x step x
segment combination (a cube, one group-by per chunk for every segmented measure, over integer
keys), rolled up once by ``combine`` into one row per site x measure x step x dimension x
segment. Chunks hold disjoint cases, so the partial sums of all chunks add up to the month's
figures. Nothing here touches the database.

Segmentation uses each case's attributes and its risk tier **at referral** (a later
``risk_tier_changed`` moves which time standards apply, not which group the case is counted in).
"""

import numpy as np
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
# The cube's measures; every other measure of the chunk is a figure frame already. Adverse
# outcomes are counted per case, not per step.
STEPPED_MEASURES = {
    "timeliness": True,
    "touchpoint_completion": True,
    "escalation_adherence": True,
    "assessment_completeness": True,
    "adverse_outcome_rate": False,
}


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


class _Chunk:
    """The chunk's cases as positions: each case's version and its segment combination (site
    and every dimension) as one integer, so that every measure's rows are keyed by integers
    and the whole cube is one group-by."""

    def __init__(self, cases: pd.DataFrame):
        self.case_ids = pd.Index(cases["case_id"].to_numpy())
        self.versions = cases["version_id"].to_numpy()
        self.sites = cases["site_id"].to_numpy()
        # The combination of the stored values, not of their segment texts: the texts are
        # made once per combination, not once per case. Two combinations with the same texts
        # (an empty rurality and a missing one are both "unknown") are added up by ``combine``.
        code = np.zeros(len(cases), dtype="int64")
        for column in ("site_id", *DIMENSIONS):
            values, uniques = pd.factorize(cases[column], use_na_sentinel=False)
            code = code * len(uniques) + values
        _, first, self.combos = np.unique(code, return_index=True, return_inverse=True)
        self.combo_segments = segments(cases.iloc[first]).reset_index(drop=True)

    def positions(self, case_ids: pd.Series) -> np.ndarray:
        return self.case_ids.get_indexer(case_ids.to_numpy())


def _of_kind(
    versions: np.ndarray, steps: pd.Series, definitions: dict[int, PathwayDefinition], kind: str
) -> np.ndarray:
    """Whether each (version, step) pair names a step of ``kind`` in that version."""
    found = np.zeros(len(steps), dtype=bool)
    for version_id, definition in definitions.items():
        keys = [step.key for step in definition.steps if step.kind == kind]
        if keys:
            found |= (versions == version_id) & steps.isin(keys).to_numpy()
    return found


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
    (CUBE_COLUMNS, every segmented measure in one group-by) and figures (FIGURE_COLUMNS), for
    ``combine``."""
    start, end, cutoff = pd.Timestamp(start), pd.Timestamp(end), pd.Timestamp(cutoff)
    if cases.empty:
        return []
    chunk = _Chunk(cases)
    rows: list[tuple[str, pd.Series, np.ndarray, np.ndarray]] = []

    due = obligations[
        (obligations["due_at"] >= start)
        & (obligations["due_at"] < end)
        & (obligations["due_at"] <= cutoff)
        & obligations["status"].isin(COUNTED_STATUSES)
    ]
    due_at = chunk.positions(due["case_id"])
    met = (due["status"] == "met").to_numpy()
    by_step = (due["source"] == "step").to_numpy()
    rows.append(("timeliness", due["step"], due_at, met, by_step))
    touch = by_step & _of_kind(chunk.versions[due_at], due["step"], definitions, "touchpoint")
    rows.append(
        (
            "touchpoint_completion",
            due["step"],
            due_at,
            met | (due["status"] == "late").to_numpy(),
            touch,
        )
    )
    rows.append(
        (
            "escalation_adherence",
            due["step"],
            due_at,
            met,
            (due["source"] == "escalation").to_numpy(),
        )
    )

    in_month = events[
        (events["occurred_at"] >= start)
        & (events["occurred_at"] < end)
        & (events["occurred_at"] <= cutoff)
    ]
    rows.append(_assessments(in_month, chunk, definitions))
    figures = []
    outcomes = _outcome_cases(in_month, set(adverse_outcomes))
    if not outcomes.empty:
        outcome_at = chunk.positions(outcomes["case_id"])
        rows.append(
            (
                "adverse_outcome_rate",
                pd.Series("", index=outcomes.index, dtype="object"),
                outcome_at,
                outcomes["adverse"].to_numpy(dtype=bool),
                outcome_at >= 0,
            )
        )
        figures.append(_attribution(outcomes, obligations, chunk, definitions))
    cube = _cube(rows, chunk)
    return [part for part in (cube, *figures) if not part.empty]


def _cube(rows, chunk: _Chunk) -> pd.DataFrame:
    """Every measure's rows (measure, step, case position, counted, kept) in one group-by per
    measure x step x segment combination: one chunk's partial sums (CUBE_COLUMNS). A row's
    denominator is 1, so the denominator is the group's size."""
    parts = []
    for measure, steps, at, counted, kept in rows:
        kept = kept & (at >= 0)
        if not kept.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "measure": measure,
                    "step": steps.to_numpy(dtype=object)[kept],
                    "combo": chunk.combos[at[kept]],
                    "numerator": counted[kept].astype("int64"),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=CUBE_COLUMNS)
    cube = (
        pd.concat(parts, ignore_index=True)
        .groupby(["measure", "step", "combo"], sort=False)["numerator"]
        .agg(["sum", "size"])
        .reset_index()
    )
    segments_of = chunk.combo_segments.take(cube["combo"].to_numpy())
    cube = pd.concat(
        [cube.reset_index(drop=True), segments_of.drop(columns="case_id").reset_index(drop=True)],
        axis=1,
    )
    cube = cube.rename(columns={"sum": "numerator", "size": "denominator"})
    cube["by_step"] = cube["measure"].map(STEPPED_MEASURES).astype(bool)
    return cube[CUBE_COLUMNS]


def _assessments(in_month, chunk: _Chunk, definitions) -> tuple:
    """Assessment completeness: every assessment-kind step_completed in the month; complete when
    ``data.complete`` is not false and every required field is present."""
    done = in_month[in_month["type"] == "step_completed"]
    at = chunk.positions(done["case_id"])
    versions = chunk.versions[at]
    kept = (at >= 0) & _of_kind(versions, done["step"], definitions, "assessment")
    required = {
        (version_id, step.key): tuple(step.required_fields)
        for version_id, definition in definitions.items()
        for step in definition.steps
        if step.kind == "assessment"
    }
    payloads = done["data"].to_numpy(dtype=object)
    steps = done["step"].to_numpy(dtype=object)
    complete = np.zeros(len(done), dtype=bool)
    for index in np.flatnonzero(kept):
        data = payloads[index]
        complete[index] = (
            isinstance(data, dict)
            and data.get("complete") is not False
            and all(field in data for field in required[(versions[index], steps[index])])
        )
    return ("assessment_completeness", done["step"], at, complete, kept)


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


def _attribution(outcomes, obligations, chunk: _Chunk, definitions) -> pd.DataFrame:
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
    upstream = missed_or_late[["case_id", "step", "due_at"]].merge(
        outcomes[["case_id", "at"]], on="case_id"
    )
    upstream = upstream[upstream["due_at"] <= upstream["at"]]
    at = chunk.positions(outcomes["case_id"])
    known = at >= 0
    cases = outcomes[known].assign(
        version_id=chunk.versions[at[known]], site_id=chunk.sites[at[known]]
    )
    per_step = cases.merge(timed, on="version_id")
    missed = pd.MultiIndex.from_arrays(
        [upstream["case_id"].to_numpy(), upstream["step"].to_numpy(dtype=object)]
    )
    per_step["numerator"] = (
        pd.MultiIndex.from_arrays(
            [per_step["case_id"].to_numpy(), per_step["step"].to_numpy(dtype=object)]
        )
        .isin(missed)
        .astype("int64")
    )
    overall = cases.assign(
        step="", numerator=cases["case_id"].isin(upstream["case_id"]).astype("int64")
    )
    rows = pd.concat([per_step, overall], ignore_index=True)
    rows["denominator"] = 1
    rows["group"] = rows["adverse"].map({True: "adverse", False: "other"})
    figures = rows.groupby(["site_id", "step", "group"], as_index=False, sort=False)[
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
