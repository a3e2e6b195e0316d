"""The obligation/exception engine: DESIGN.md section 3, set-based over pandas frames.

The caller loads a bounded chunk of cases with all their events and passes them here; nothing in
this module touches the database, and every result row belongs to one case, so chunks can be
computed separately and concatenated.

Algorithm, for one chunk and a cutoff T:

1. Normalise: timestamps to UTC, keep cases referred by T and events up to T, and order events
   by (occurred_at, event_pk). Arrival order never matters after this.
2. Classify ``step_completed`` records: a record of an assessment step is complete unless
   ``data["complete"] is False`` or a required field is missing (a dict look-up on assessment
   records only). Other steps' records are always complete.
3. Anchors: one frame of (case, anchor, anchor time) built from referrals, the first complete
   record of each step (``step:<key>``) and ``contact_missed`` / ``escalation_raised`` events.
4. Tier at the anchor: ``merge_asof`` backwards onto ``risk_tier_changed`` events (a change at
   the anchor instant counts), defaulting to the referral tier.
5. Standards: an inner join of anchors with the standards exploded one row per tier on
   (version, anchor, tier) keeps exactly the standards that apply.
6. Completion: ``referral`` and ``step:`` anchors join the step's first complete record; event
   anchors ``merge_asof`` forwards (strictly after) onto the step's complete records.
7. Escalation rules: ``engine_escalation`` (a vectorised screen, then a short walk over the few
   cases that can reach N missed contacts within the window).
8. Status: one vectorised ``np.select`` over due, completion, first closure and T.

Cost per chunk of C cases and E events: O((C + E) log E), dominated by the sort and the
as-of merges, plus the escalation walk over the screened cases' missed contacts. Memory is
O(C + E + obligations) for the chunk, so it stays flat however many chunks the caller feeds.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pathways.definitions import (
    EVENT_ANCHORS,
    REFERRAL_ANCHOR,
    RISK_TIERS,
    SAFEGUARDING_ANCHOR,
    STEP_ANCHOR_PREFIX,
    PathwayDefinition,
    ordered_tiers,
)
from pathways.engine_escalation import escalation_obligations

CASE_COLUMNS = ["case_id", "version_id", "referral_at", "risk_tier"]
EVENT_COLUMNS = ["event_pk", "case_id", "type", "step", "occurred_at", "data"]
_KEYED = ["case_id", "obligation_key", "step"]
OBLIGATION_COLUMNS = [*_KEYED, "source", "anchor_at", "due_at", "completed_at", "status"]
INCOMPLETE_COLUMNS = [*_KEYED, "anchor_at"]
REPORT_COLUMNS = [*_KEYED, "kind", "anchor_at", "due_at", "completed_at"]

TIMESTAMP = "datetime64[ns, UTC]"
# What this pandas infers for text (object before pandas 3, "str" since), so that empty results
# have the same dtypes as full ones.
TEXT = pd.Series(["text"]).dtype
_DTYPES = {"case_id": "int64"} | dict.fromkeys(["anchor_at", "due_at", "completed_at"], TIMESTAMP)

Definitions = Mapping[int, PathwayDefinition]


@dataclass(frozen=True)
class _Chunk:
    """The inputs as seen at the cutoff."""

    cases: pd.DataFrame  # CASE_COLUMNS, referred by the cutoff
    events: pd.DataFrame  # EVENT_COLUMNS + version_id, sequence; up to the cutoff, in time order
    completions: pd.DataFrame  # step_completed events + is_assessment, is_complete
    first_completions: pd.DataFrame  # each (case, step)'s first complete record: completed_at
    cutoff: pd.Timestamp
    # The risk tool's tier of each scored assessment (pathways.front_door): case_id, event_pk,
    # step, scored_at, computed_tier; and the tier changes that govern time standards:
    # case_id, changed_at, new_tier (the partner's, or the tool's where the pathway says so).
    scored: pd.DataFrame
    tier_changes: pd.DataFrame


def compute_obligations(
    cases: pd.DataFrame, events: pd.DataFrame, definitions: Definitions, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """Every obligation anchored by ``cutoff`` with its status then (OBLIGATION_COLUMNS)."""
    return _obligations(_prepare(cases, events, definitions, cutoff), definitions)


def incomplete_assessments(
    cases: pd.DataFrame, events: pd.DataFrame, definitions: Definitions, cutoff: pd.Timestamp
) -> pd.DataFrame:
    """One row per (case, assessment step) whose latest records, after its last complete one,
    are incomplete; keyed and dated by the first of those (INCOMPLETE_COLUMNS)."""
    return _incomplete(_prepare(cases, events, definitions, cutoff))


def daily_report(
    cases: pd.DataFrame,
    events: pd.DataFrame,
    definitions: Definitions,
    day_start: pd.Timestamp,
    day_end: pd.Timestamp,
) -> pd.DataFrame:
    """The exception report for the day [day_start, day_end), seen at the cutoff ``day_end``:
    obligations overdue then, obligations completed late during the day (a completion at
    exactly ``day_end`` belongs to the next day), and incomplete assessments standing then."""
    return daily_report_and_obligations(cases, events, definitions, day_start, day_end)[0]


def daily_report_and_obligations(
    cases: pd.DataFrame,
    events: pd.DataFrame,
    definitions: Definitions,
    day_start: pd.Timestamp,
    day_end: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``daily_report`` and every obligation it was drawn from (``compute_obligations`` at
    ``day_end``), for a caller that needs both without computing them twice."""
    day_start = _utc_instant(day_start)
    chunk = _prepare(cases, events, definitions, day_end)
    obligations = _obligations(chunk, definitions)
    completed_today = (obligations["completed_at"] >= day_start) & (
        obligations["completed_at"] < chunk.cutoff
    )
    is_late_today = (obligations["status"] == "late") & completed_today
    exceptions = obligations[(obligations["status"] == "overdue") | is_late_today]
    kind = np.select(
        [
            exceptions["source"] == "escalation",
            _is_safeguarding(exceptions, chunk, definitions),
            exceptions["status"] == "late",
        ],
        ["missed_escalation", "missed_safeguarding", "late_step"],
        default="overdue_step",
    )
    incomplete = _incomplete(chunk).assign(
        kind="incomplete_assessment", due_at=pd.NaT, completed_at=pd.NaT
    )
    disagreements = _tier_disagreements(chunk).assign(
        kind="tier_disagreement", due_at=pd.NaT, completed_at=pd.NaT
    )
    parts = [exceptions.assign(kind=kind), incomplete, disagreements]
    parts = [_shaped(part, REPORT_COLUMNS) for part in parts if not part.empty]
    if not parts:
        return _shaped(None, REPORT_COLUMNS), obligations
    report = pd.concat(parts, ignore_index=True)
    report = _shaped(report.sort_values(["case_id", "obligation_key"]), REPORT_COLUMNS)
    return report, obligations


def _obligations(chunk: _Chunk, definitions: Definitions) -> pd.DataFrame:
    parts = [_step_obligations(chunk, definitions), _escalation_obligations(chunk, definitions)]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return _shaped(None, OBLIGATION_COLUMNS)
    obligations = pd.concat(parts, ignore_index=True)
    obligations["status"] = _status(obligations, chunk)
    return _shaped(obligations.sort_values(["case_id", "obligation_key"]), OBLIGATION_COLUMNS)


def _incomplete(chunk: _Chunk) -> pd.DataFrame:
    records = chunk.completions[chunk.completions["is_assessment"]]
    last_complete = (
        records[records["is_complete"]]
        .groupby(["case_id", "step"])["sequence"]
        .max()
        .rename("last_complete")
    )
    standing = records[~records["is_complete"]].join(last_complete, on=["case_id", "step"])
    standing = standing[
        standing["last_complete"].isna() | (standing["sequence"] > standing["last_complete"])
    ].drop_duplicates(["case_id", "step"], keep="first")  # records are in time order
    standing = standing.assign(
        obligation_key="incomplete:"
        + standing["step"].astype(str)
        + "@event:"
        + standing["event_pk"].astype(str),
        anchor_at=standing["occurred_at"],
    )
    return _shaped(standing.sort_values(["case_id", "obligation_key"]), INCOMPLETE_COLUMNS)


# --- inputs -------------------------------------------------------------------------------


def _prepare(
    cases: pd.DataFrame, events: pd.DataFrame, definitions: Definitions, cutoff: pd.Timestamp
) -> _Chunk:
    cutoff = _utc_instant(cutoff)
    cases = cases[CASE_COLUMNS].assign(referral_at=_utc(cases["referral_at"]))
    cases = cases[cases["referral_at"] <= cutoff].reset_index(drop=True)
    events = events[EVENT_COLUMNS].assign(occurred_at=_utc(events["occurred_at"]))
    events = events[(events["occurred_at"] <= cutoff) & events["case_id"].isin(cases["case_id"])]
    # Only occurred_at decides; event_pk breaks ties so that equal times still have one order.
    # Sorted as two integer arrays (no time is missing after the cutoff filter): pandas'
    # several-column sort factorizes each column first, at twice the cost.
    order = np.lexsort(
        (events["event_pk"].to_numpy(dtype=np.int64), events["occurred_at"].array.asi8)
    )
    events = events.take(order).reset_index(drop=True)
    events = events.assign(
        # A handful of kinds, compared again and again: as category codes, not strings.
        type=events["type"].astype("category"),
        step=events["step"].astype(TEXT),
        version_id=events["case_id"].map(cases.set_index("case_id")["version_id"]),
        sequence=np.arange(len(events)),
    )
    completions = _classify_completions(events[events["type"] == "step_completed"], definitions)
    scored = _scored_assessments(completions, definitions)
    return _Chunk(
        cases,
        events,
        completions,
        _first_completions(completions),
        cutoff,
        scored,
        _tier_changes(events, scored, cases, definitions),
    )


def _classify_completions(completions: pd.DataFrame, definitions: Definitions) -> pd.DataFrame:
    """Marks assessment records and whether each record completes its step."""
    requirements = pd.DataFrame(
        [
            (version_id, step.key, step.required_fields)
            for version_id, definition in definitions.items()
            for step in definition.steps
            if step.kind == "assessment"
        ],
        columns=["version_id", "step", "required_fields"],
    ).astype({"step": TEXT})
    completions = completions.merge(requirements, on=["version_id", "step"], how="left")
    is_assessment = completions["required_fields"].notna().to_numpy(dtype=bool)
    is_complete = np.ones(len(completions), dtype=bool)
    assessments = completions[is_assessment]
    is_complete[is_assessment] = [
        _is_complete_assessment(data, required)
        for data, required in zip(assessments["data"], assessments["required_fields"], strict=True)
    ]
    return completions.drop(columns="required_fields").assign(
        is_assessment=is_assessment, is_complete=is_complete
    )


def _is_complete_assessment(data, required_fields: tuple[str, ...]) -> bool:
    data = data if isinstance(data, dict) else {}
    return data.get("complete") is not False and all(name in data for name in required_fields)


def _partner_changes(events: pd.DataFrame) -> pd.DataFrame:
    """The partner's ``risk_tier_changed`` events as case_id, changed_at, new_tier."""
    changes = events[events["type"] == "risk_tier_changed"]
    new_tier = changes["data"].map(
        lambda data: data.get("risk_tier") if isinstance(data, dict) else None
    )
    return pd.DataFrame(
        {"case_id": changes["case_id"], "changed_at": changes["occurred_at"], "new_tier": new_tier}
    )[new_tier.isin(RISK_TIERS)]


def _scored_assessments(completions: pd.DataFrame, definitions: Definitions) -> pd.DataFrame:
    """The risk tool's tier of each complete assessment of its step that it can score."""
    columns = ["case_id", "event_pk", "step", "scored_at", "computed_tier"]
    tools = {
        version_id: definition.risk_tool
        for version_id, definition in definitions.items()
        if definition.risk_tool is not None
    }
    if not tools or completions.empty:
        return pd.DataFrame(columns=columns).astype({"case_id": "int64", "scored_at": TIMESTAMP})
    tool_step = completions["version_id"].map(
        {version_id: tool.step for version_id, tool in tools.items()}
    )
    records = completions[(completions["step"] == tool_step) & completions["is_complete"]]
    tiers = [
        tools[version_id].tier(data)
        for version_id, data in zip(records["version_id"], records["data"], strict=True)
    ]
    records = records.assign(computed_tier=pd.Series(tiers, index=records.index, dtype=object))
    records = records[records["computed_tier"].notna()]
    return pd.DataFrame(
        {
            "case_id": records["case_id"],
            "event_pk": records["event_pk"],
            "step": records["step"],
            "scored_at": records["occurred_at"],
            "computed_tier": records["computed_tier"],
        }
    ).reset_index(drop=True)


def _tier_changes(
    events: pd.DataFrame, scored: pd.DataFrame, cases: pd.DataFrame, definitions: Definitions
) -> pd.DataFrame:
    """The tier changes that govern time standards. Where the pathway's risk tool governs
    (``governs: computed``), each scored assessment sets the tier from its time, and the
    partner's changes count only until the first one; elsewhere only the partner's count."""
    partner = _partner_changes(events)
    governed_versions = [
        version_id
        for version_id, definition in definitions.items()
        if definition.risk_tool is not None and definition.risk_tool.governs == "computed"
    ]
    if not governed_versions or scored.empty:
        return partner
    governed_cases = set(cases.loc[cases["version_id"].isin(governed_versions), "case_id"])
    computed = scored[scored["case_id"].isin(governed_cases)]
    first = computed.groupby("case_id")["scored_at"].min()
    partner_first = partner["case_id"].map(first)
    partner = partner[partner_first.isna() | (partner["changed_at"] < partner_first)]
    computed = pd.DataFrame(
        {
            "case_id": computed["case_id"],
            "changed_at": computed["scored_at"],
            "new_tier": computed["computed_tier"],
        }
    )
    changes = pd.concat([partner, computed], ignore_index=True)
    return changes.sort_values("changed_at", kind="stable").reset_index(drop=True)


def _tier_disagreements(chunk: _Chunk) -> pd.DataFrame:
    """One row per case whose latest scored assessment's tier differs from the partner's tier
    at the cutoff (its referral tier changed by its own risk_tier_changed events), keyed and
    dated by that assessment (INCOMPLETE_COLUMNS)."""
    latest = chunk.scored.drop_duplicates("case_id", keep="last")  # in time order
    if latest.empty:
        return _shaped(None, INCOMPLETE_COLUMNS)
    partner = chunk.cases.set_index("case_id")["risk_tier"]
    changes = _partner_changes(chunk.events).drop_duplicates("case_id", keep="last")
    partner = changes.set_index("case_id")["new_tier"].combine_first(partner)
    standing = latest[latest["computed_tier"] != latest["case_id"].map(partner)]
    standing = standing.assign(
        obligation_key="tier:"
        + standing["step"].astype(str)
        + "@event:"
        + standing["event_pk"].astype(str),
        anchor_at=standing["scored_at"],
    )
    return _shaped(standing.sort_values(["case_id", "obligation_key"]), INCOMPLETE_COLUMNS)


def _is_safeguarding(
    obligations: pd.DataFrame, chunk: _Chunk, definitions: Definitions
) -> np.ndarray:
    """Step obligations whose standard is anchored on a safeguarding concern."""
    safeguarding = {
        (version_id, f"step:{step.key}/{position}")
        for version_id, definition in definitions.items()
        for step in definition.steps
        for position, standard in enumerate(step.time_standards)
        if standard.anchor == SAFEGUARDING_ANCHOR
    }
    if not safeguarding or obligations.empty:
        return np.zeros(len(obligations), dtype=bool)
    version = obligations["case_id"].map(chunk.cases.set_index("case_id")["version_id"])
    standard = obligations["obligation_key"].str.split("@", n=1).str[0]
    return np.array(
        [
            source == "step" and (version_id, key) in safeguarding
            for source, version_id, key in zip(
                obligations["source"], version, standard, strict=True
            )
        ],
        dtype=bool,
    )


def _tier_at(frame: pd.DataFrame, at_column: str, chunk: _Chunk) -> pd.Series:
    """Each row's case risk tier at ``at_column``: the referral tier, changed by every tier
    change that governs (``_tier_changes``) up to and including that instant (the last one
    wins)."""
    referral_tier = frame["case_id"].map(chunk.cases.set_index("case_id")["risk_tier"])
    changes = chunk.tier_changes
    if changes.empty or frame.empty:
        return referral_tier
    probe = pd.DataFrame(
        {"case_id": frame["case_id"], "at": frame[at_column], "row": np.arange(len(frame))}
    ).sort_values("at", kind="stable")
    found = pd.merge_asof(
        probe, changes, left_on="at", right_on="changed_at", by="case_id", direction="backward"
    )
    changed = found.sort_values("row")["new_tier"].to_numpy()
    return referral_tier.where(pd.isna(changed), pd.Series(changed, index=frame.index))


# --- step obligations -----------------------------------------------------------------------


def _step_obligations(chunk: _Chunk, definitions: Definitions) -> pd.DataFrame:
    standards = _standards_by_tier(definitions)
    anchors = _anchors(chunk)
    if standards.empty or anchors.empty:
        return _shaped(None, OBLIGATION_COLUMNS[:-1])
    anchors = anchors.assign(tier=_tier_at(anchors, "anchor_at", chunk))
    obligations = anchors.merge(standards, on=["version_id", "anchor", "tier"])
    obligations = obligations.assign(
        due_at=obligations["anchor_at"] + pd.to_timedelta(obligations["within_hours"], unit="h"),
        # Joined in Python: pandas' string ``+`` on its Python-backed text costs several
        # times as much. Neither part can be missing here (a standard's step, an anchor
        # that matched a standard).
        obligation_key=pd.array(
            [
                f"step:{step}/{position}@{instance}"
                for step, position, instance in zip(
                    obligations["step"].tolist(),
                    obligations["position"].tolist(),
                    obligations["instance"].tolist(),
                    strict=True,
                )
            ],
            dtype=TEXT,
        ),
        source="step",
    )
    # Only event anchors' instances are "event:<pk>" (a set look-up, not a string scan).
    is_event = obligations["anchor"].isin(EVENT_ANCHORS)
    first = chunk.first_completions[["case_id", "step", "completed_at"]]
    parts = [
        obligations[~is_event].merge(first, on=["case_id", "step"], how="left"),
        _completed_after_anchor(obligations[is_event], chunk.completions),
    ]
    return pd.concat([_shaped(part, OBLIGATION_COLUMNS[:-1]) for part in parts], ignore_index=True)


def _standards_by_tier(definitions: Definitions) -> pd.DataFrame:
    """One row per (version, anchor, tier) a standard applies to, so that a join applies it."""
    rows = [
        (version_id, standard.anchor, tier, step.key, position, float(standard.within_hours))
        for version_id, definition in definitions.items()
        for step in definition.steps
        for position, standard in enumerate(step.time_standards)
        for tier in ordered_tiers(standard.tiers)
    ]
    columns = ["version_id", "anchor", "tier", "step", "position", "within_hours"]
    return pd.DataFrame(rows, columns=columns).astype({"step": TEXT, "anchor": TEXT})


def _first_completions(completions: pd.DataFrame) -> pd.DataFrame:
    """Each (case, step)'s first complete record (records are already in time order)."""
    done = completions[completions["is_complete"]].drop_duplicates(["case_id", "step"])
    return done.rename(columns={"occurred_at": "completed_at"})


def _anchors(chunk: _Chunk) -> pd.DataFrame:
    """(case_id, version_id, anchor, anchor_at, instance) for every anchor in the chunk."""
    cases = chunk.cases
    referral = pd.DataFrame(
        {
            "case_id": cases["case_id"],
            "version_id": cases["version_id"],
            "anchor": REFERRAL_ANCHOR,
            "anchor_at": cases["referral_at"],
            "instance": REFERRAL_ANCHOR,
        }
    )
    first = chunk.first_completions
    step_anchor = _prefixed(STEP_ANCHOR_PREFIX, first["step"])
    upstream = pd.DataFrame(
        {
            "case_id": first["case_id"],
            "version_id": first["version_id"],
            "anchor": step_anchor,
            "anchor_at": first["completed_at"],
            "instance": step_anchor,
        }
    )
    happened = chunk.events[chunk.events["type"].isin(EVENT_ANCHORS)]
    event = pd.DataFrame(
        {
            "case_id": happened["case_id"],
            "version_id": happened["version_id"],
            "anchor": happened["type"],
            "anchor_at": happened["occurred_at"],
            "instance": _prefixed("event:", happened["event_pk"]),
        }
    )
    parts = [part for part in (referral, upstream, event) if not part.empty]
    if not parts:
        return pd.DataFrame(columns=["case_id", "version_id", "anchor", "anchor_at", "instance"])
    return pd.concat(parts, ignore_index=True).astype({"anchor": TEXT, "instance": TEXT})


def _completed_after_anchor(obligations: pd.DataFrame, completions: pd.DataFrame) -> pd.DataFrame:
    """Event-anchored obligations with the step's first complete record strictly after."""
    if obligations.empty:
        return obligations.assign(completed_at=pd.NaT)
    done = completions.loc[completions["is_complete"], ["case_id", "step", "occurred_at"]]
    return pd.merge_asof(
        obligations.sort_values("anchor_at", kind="stable"),
        done.rename(columns={"occurred_at": "completed_at"}),
        left_on="anchor_at",
        right_on="completed_at",
        by=["case_id", "step"],
        direction="forward",
        allow_exact_matches=False,
    )


# --- escalation obligations and status -------------------------------------------------------


def _escalation_obligations(chunk: _Chunk, definitions: Definitions) -> pd.DataFrame:
    events = chunk.events
    missed = events[events["type"] == "contact_missed"]
    missed = missed.assign(tier=_tier_at(missed, "occurred_at", chunk))
    raised = events[events["type"] == "escalation_raised"]
    obligations = escalation_obligations(
        missed[["case_id", "version_id", "event_pk", "occurred_at", "tier"]],
        raised[["case_id", "occurred_at"]],
        definitions,
    )
    return _shaped(obligations.assign(source="escalation"), OBLIGATION_COLUMNS[:-1])


def _status(obligations: pd.DataFrame, chunk: _Chunk) -> np.ndarray:
    """met / late / overdue / pending at the cutoff; void when the case's first closure comes
    before the due time (whatever else happened)."""
    events = chunk.events
    first_closure = events[events["type"] == "case_closed"].groupby("case_id")["occurred_at"].min()
    closed_at = pd.Series(
        first_closure.astype(TIMESTAMP).reindex(obligations["case_id"]).array,
        index=obligations.index,
    )
    due_at, completed_at = obligations["due_at"], obligations["completed_at"]
    return np.select(
        [
            closed_at.notna() & (due_at > closed_at),
            completed_at.notna() & (completed_at <= due_at),
            completed_at.notna(),
            due_at <= chunk.cutoff,
        ],
        ["void", "met", "late", "overdue"],
        default="pending",
    )


# --- helpers --------------------------------------------------------------------------------


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).astype(TIMESTAMP)


def _utc_instant(value) -> pd.Timestamp:
    value = pd.Timestamp(value)
    if value.tzinfo is None:
        raise ValueError(f"{value} has no time zone; pass an aware timestamp (UTC)")
    return value.tz_convert("UTC")


def _prefixed(prefix: str, values: pd.Series) -> pd.Series:
    """``prefix`` + each value as text, a missing value left missing (as pandas' ``+`` leaves
    it), joined in Python: pandas' string ``+`` on its Python-backed text costs several times
    as much."""
    missing = values.isna().to_numpy()
    return pd.Series(
        [
            None if is_missing else f"{prefix}{value}"
            for value, is_missing in zip(values.tolist(), missing, strict=True)
        ],
        index=values.index,
        dtype=TEXT,
    )


def _shaped(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """``columns`` in order with fixed dtypes, whether the frame has rows or not."""
    if frame is None:
        frame = pd.DataFrame(columns=columns)
    frame = frame[columns].reset_index(drop=True)
    for column in columns:
        if _DTYPES.get(column) == TIMESTAMP and not isinstance(
            frame[column].dtype, pd.DatetimeTZDtype
        ):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({column: _DTYPES.get(column, TEXT) for column in columns})
