"""The obligation/exception engine: DESIGN.md section 3, set-based over pandas frames.

The caller loads a bounded chunk of cases with all their events (``values_list`` into frames) and
passes it here; nothing in this module touches the database. Each anchor kind becomes one join:
cases x referral standards, first completions x ``step:`` standards, anchor events x event
standards. Tier at anchor time and completion after an event anchor are ``merge_asof`` look-ups.
Only escalation rules need a sequential pass (a new obligation starts only after the previous one
is met), and that pass visits only the cases with at least N missed contacts. Cost is
O(events log events) per chunk; memory is bounded by the chunk.
"""

import pandas as pd

from pathways.definitions import PathwayDefinition

CASE_COLUMNS = ["case_id", "version_id", "referral_at", "risk_tier"]
EVENT_COLUMNS = ["event_pk", "case_id", "type", "step", "occurred_at", "data"]
OBLIGATION_COLUMNS = [
    "case_id",
    "obligation_key",
    "step",
    "source",
    "anchor_at",
    "due_at",
    "completed_at",
    "status",
]
INCOMPLETE_COLUMNS = ["case_id", "obligation_key", "step", "anchor_at"]
REPORT_COLUMNS = [
    "case_id",
    "obligation_key",
    "step",
    "kind",
    "anchor_at",
    "due_at",
    "completed_at",
]


def _empty(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="object") for column in columns})
    for column in columns:
        if column.endswith("_at"):
            frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
        elif column == "case_id":
            frame[column] = pd.Series(dtype="int64")
    return frame


def _as_utc(frame: pd.DataFrame, columns=("anchor_at", "due_at", "completed_at")) -> pd.DataFrame:
    for column in columns:
        if column in frame:
            values = frame[column]
            if not isinstance(values.dtype, pd.DatetimeTZDtype):
                values = pd.to_datetime(values.astype("object"), utc=True)
            frame[column] = values.astype("datetime64[ns, UTC]")
    return frame


def _standards(definitions: dict[int, PathwayDefinition]) -> pd.DataFrame:
    rows = [
        (version_id, step.key, position, standard.tiers, standard.anchor, standard.within_hours)
        for version_id, definition in definitions.items()
        for step in definition.steps
        for position, standard in enumerate(step.time_standards)
    ]
    return pd.DataFrame(
        rows, columns=["version_id", "step", "position", "tiers", "anchor", "within_hours"]
    )


def _prepare_events(events: pd.DataFrame, cases: pd.DataFrame, definitions, cutoff):
    events = events[events["occurred_at"] <= cutoff].copy()
    events = events.sort_values(["occurred_at", "event_pk"], kind="stable")
    events["version_id"] = events["case_id"].map(cases.set_index("case_id")["version_id"])
    kinds = {
        (version_id, step.key): (step.kind, step.required_fields)
        for version_id, definition in definitions.items()
        for step in definition.steps
    }

    def is_complete(row) -> bool:
        kind, required = kinds.get((row.version_id, row.step), ("", ()))
        if kind != "assessment":
            return True
        data = row.data if isinstance(row.data, dict) else {}
        return data.get("complete") is not False and all(field in data for field in required)

    completed = events[events["type"] == "step_completed"].copy()
    completed["complete"] = pd.Series(
        [is_complete(row) for row in completed.itertuples()], index=completed.index, dtype=bool
    )
    return events, completed


def _tier_at(frame: pd.DataFrame, at_column: str, cases: pd.DataFrame, events: pd.DataFrame):
    """The case's risk tier at each row's ``at_column`` time (changes at that instant count)."""
    referral_tier = frame["case_id"].map(cases.set_index("case_id")["risk_tier"])
    changes = events[events["type"] == "risk_tier_changed"]
    if changes.empty or frame.empty:
        return referral_tier
    changes = pd.DataFrame(
        {
            "case_id": changes["case_id"].to_numpy(),
            "changed_at": changes["occurred_at"].to_numpy(),
            "new_tier": [
                d.get("risk_tier") if isinstance(d, dict) else None for d in changes["data"]
            ],
        }
    ).sort_values("changed_at", kind="stable")
    probe = frame[["case_id", at_column]].reset_index().sort_values(at_column, kind="stable")
    merged = pd.merge_asof(
        probe,
        changes,
        left_on=at_column,
        right_on="changed_at",
        by="case_id",
        direction="backward",
        allow_exact_matches=True,
    ).set_index("index")
    return merged["new_tier"].reindex(frame.index).fillna(referral_tier)


def _first_completion(completed: pd.DataFrame) -> pd.DataFrame:
    done = completed[completed["complete"]]
    return (
        done.groupby(["case_id", "step"], as_index=False)["occurred_at"]
        .min()
        .rename(columns={"occurred_at": "completed_at"})
    )


def _step_obligations(cases, events, completed, definitions) -> pd.DataFrame:
    standards = _standards(definitions)
    if standards.empty or cases.empty:
        return _empty(OBLIGATION_COLUMNS)
    first = _first_completion(completed)
    frames = []

    referral = cases.merge(standards[standards["anchor"] == "referral"], on="version_id")
    referral["anchor_at"] = referral["referral_at"]
    referral["instance"] = "referral"
    frames.append(referral)

    step_standards = standards[standards["anchor"].str.startswith("step:")].copy()
    if not step_standards.empty and not first.empty:
        step_standards["upstream"] = step_standards["anchor"].str.slice(5)
        anchored = cases.merge(step_standards, on="version_id").merge(
            first.rename(columns={"step": "upstream", "completed_at": "anchor_at"}),
            on=["case_id", "upstream"],
        )
        anchored["instance"] = anchored["anchor"]
        frames.append(anchored.drop(columns=["upstream"]))

    event_standards = standards[standards["anchor"].isin(["contact_missed", "escalation_raised"])]
    if not event_standards.empty:
        anchors = events[events["type"].isin(["contact_missed", "escalation_raised"])][
            ["event_pk", "case_id", "type", "occurred_at"]
        ].rename(columns={"type": "anchor", "occurred_at": "anchor_at"})
        anchored = cases.merge(anchors, on="case_id").merge(
            event_standards, on=["version_id", "anchor"]
        )
        anchored["instance"] = "event:" + anchored["event_pk"].astype(str)
        frames.append(anchored.drop(columns=["event_pk"]))

    frame = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True)
        if any(not f.empty for f in frames)
        else pd.DataFrame()
    )
    if frame.empty:
        return _empty(OBLIGATION_COLUMNS)
    tier = _tier_at(frame, "anchor_at", cases, events)
    frame = frame[[t in tiers for t, tiers in zip(tier, frame["tiers"], strict=True)]].copy()
    if frame.empty:
        return _empty(OBLIGATION_COLUMNS)
    frame["due_at"] = frame["anchor_at"] + pd.to_timedelta(frame["within_hours"], unit="h")
    frame["obligation_key"] = (
        "step:" + frame["step"] + "/" + frame["position"].astype(str) + "@" + frame["instance"]
    )
    frame["source"] = "step"

    is_event = frame["instance"].str.startswith("event:")
    whole = frame[~is_event].merge(first, on=["case_id", "step"], how="left")
    after = frame[is_event]
    if not after.empty:
        done = (
            completed[completed["complete"]][["case_id", "step", "occurred_at"]]
            .rename(columns={"occurred_at": "completed_at"})
            .sort_values("completed_at", kind="stable")
            .astype({"step": "object"})
        )
        after = pd.merge_asof(
            after.sort_values("anchor_at", kind="stable").astype({"step": "object"}),
            done,
            left_on="anchor_at",
            right_on="completed_at",
            by=["case_id", "step"],
            direction="forward",
            allow_exact_matches=False,
        )
    return pd.concat([_as_utc(whole), _as_utc(after)], ignore_index=True)[
        ["case_id", "obligation_key", "step", "source", "anchor_at", "due_at", "completed_at"]
    ]


def _escalation_obligations(cases, events, definitions) -> pd.DataFrame:
    rules = {vid: d.escalation_rules for vid, d in definitions.items() if d.escalation_rules}
    if not rules:
        return _empty(OBLIGATION_COLUMNS)
    missed = events[events["type"] == "contact_missed"]
    minimum = min(rule.missed_contacts for rs in rules.values() for rule in rs)
    counts = missed.groupby("case_id").size()
    candidates = counts[counts >= minimum].index
    if len(candidates) == 0:
        return _empty(OBLIGATION_COLUMNS)
    relevant = events[
        events["case_id"].isin(candidates)
        & events["type"].isin(["contact_missed", "escalation_raised"])
    ]
    relevant = relevant.assign(tier=_tier_at(relevant, "occurred_at", cases, events))
    versions = cases.set_index("case_id")["version_id"].to_dict()
    timelines: dict[int, list] = {}
    columns = ["case_id", "type", "occurred_at", "event_pk", "tier"]
    for row in relevant[columns].itertuples(index=False):
        timelines.setdefault(row.case_id, []).append(row)
    rows = []
    for case_id, timeline in timelines.items():
        for rule in rules.get(versions[case_id], ()):
            rows.extend(_walk_rule(case_id, rule, timeline))
    if not rows:
        return _empty(OBLIGATION_COLUMNS)
    frame = pd.DataFrame(
        rows,
        columns=[
            "case_id",
            "obligation_key",
            "step",
            "anchor_at",
            "completed_at",
            "tiers",
            "within_hours",
        ],
    )
    frame["due_at"] = frame["anchor_at"] + pd.to_timedelta(frame["within_hours"], unit="h")
    frame["source"] = "escalation"
    frame["anchor_at"] = pd.to_datetime(frame["anchor_at"], utc=True)
    frame["completed_at"] = pd.to_datetime(frame["completed_at"], utc=True)
    return frame[
        ["case_id", "obligation_key", "step", "source", "anchor_at", "due_at", "completed_at"]
    ]


def _walk_rule(case_id, rule, timeline):
    """One case's missed contacts in time order: N within the window opens an obligation (when the
    tier applies), met by the first escalation strictly after; only contacts strictly after that
    escalation count towards the next one, and none is opened while one is unmet."""
    escalations = [row.occurred_at for row in timeline if row.type == "escalation_raised"]
    window = pd.Timedelta(hours=rule.window_hours)
    counted: list = []
    met_at = None  # while an obligation is open: the escalation that meets it, or NaT
    for row in timeline:
        if row.type != "contact_missed":
            continue
        at = row.occurred_at
        if met_at is not None:
            if pd.isna(met_at) or met_at >= at:
                continue
            met_at, counted = None, []
        counted.append(at)
        recent = counted[-rule.missed_contacts :]
        in_window = len(recent) == rule.missed_contacts and recent[-1] - recent[0] <= window
        if in_window and row.tier in rule.tiers:
            met_at = next((e for e in escalations if e > at), pd.NaT)
            yield (
                case_id,
                f"escalation:{rule.key}@event:{row.event_pk}",
                rule.key,
                at,
                met_at,
                rule.tiers,
                rule.escalate_within_hours,
            )


def compute_obligations(cases, events, definitions, cutoff) -> pd.DataFrame:
    """Every obligation anchored at or before ``cutoff`` with its status at the cutoff."""
    cutoff = pd.Timestamp(cutoff)
    cases = cases[cases["referral_at"] <= cutoff]
    if cases.empty:
        return _empty(OBLIGATION_COLUMNS)
    events, completed = _prepare_events(events, cases, definitions, cutoff)
    frame = pd.concat(
        [
            f
            for f in (
                _step_obligations(cases, events, completed, definitions),
                _escalation_obligations(cases, events, definitions),
            )
            if not f.empty
        ]
        or [_empty(OBLIGATION_COLUMNS)],
        ignore_index=True,
    )
    if frame.empty:
        return _empty(OBLIGATION_COLUMNS)
    _as_utc(frame)
    closed = events[events["type"] == "case_closed"].groupby("case_id")["occurred_at"].min()
    closed = closed.astype("datetime64[ns, UTC]")
    closed_at = closed.reindex(frame["case_id"]).set_axis(frame.index)
    completed_at, due_at = frame["completed_at"], frame["due_at"]
    status = pd.Series("pending", index=frame.index, dtype="object")
    status[due_at <= cutoff] = "overdue"
    status[completed_at.notna() & (completed_at > due_at)] = "late"
    status[completed_at.notna() & (completed_at <= due_at)] = "met"
    status[closed_at.notna() & (due_at > closed_at)] = "void"
    frame["status"] = status
    return frame[OBLIGATION_COLUMNS].reset_index(drop=True)


def incomplete_assessments(cases, events, definitions, cutoff) -> pd.DataFrame:
    """Incomplete assessments standing at ``cutoff``: one per (case, step), keyed by the first
    incomplete one since the last complete one."""
    cutoff = pd.Timestamp(cutoff)
    events, completed = _prepare_events(events, cases, definitions, cutoff)
    if completed.empty:
        return _empty(INCOMPLETE_COLUMNS)
    # Only (case, step) pairs with at least one incomplete record need a look.
    flagged = completed.loc[~completed["complete"], ["case_id", "step"]].drop_duplicates()
    completed = completed.merge(flagged, on=["case_id", "step"])
    rows = []
    for (case_id, step), group in completed.groupby(["case_id", "step"], sort=False):
        last_complete = group.loc[group["complete"], "occurred_at"].max()
        standing = group[~group["complete"]]
        if pd.notna(last_complete):
            standing = standing[standing["occurred_at"] > last_complete]
        if not standing.empty:
            first = standing.iloc[0]
            rows.append(
                (case_id, f"incomplete:{step}@event:{first.event_pk}", step, first.occurred_at)
            )
    if not rows:
        return _empty(INCOMPLETE_COLUMNS)
    frame = pd.DataFrame(rows, columns=INCOMPLETE_COLUMNS)
    frame["anchor_at"] = pd.to_datetime(frame["anchor_at"], utc=True)
    return frame


def daily_report(cases, events, definitions, day_start, day_end) -> pd.DataFrame:
    """The report for the day [day_start, day_end): overdue at the cutoff ``day_end``, completed
    late during the day, incomplete assessments standing at the cutoff."""
    day_start, day_end = pd.Timestamp(day_start), pd.Timestamp(day_end)
    obligations = compute_obligations(cases, events, definitions, day_end)
    late_today = (
        (obligations["status"] == "late")
        & (obligations["completed_at"] >= day_start)
        & (obligations["completed_at"] < day_end)
    )
    # Completion exactly at the cutoff instant belongs to the day that ends there.
    late_today |= (obligations["status"] == "late") & (obligations["completed_at"] == day_end)
    chosen = obligations[(obligations["status"] == "overdue") | late_today].copy()
    chosen["kind"] = "overdue_step"
    chosen.loc[chosen["status"] == "late", "kind"] = "late_step"
    chosen.loc[chosen["source"] == "escalation", "kind"] = "missed_escalation"
    incomplete = incomplete_assessments(cases, events, definitions, day_end)
    incomplete["kind"] = "incomplete_assessment"
    incomplete["due_at"] = pd.Series(pd.NaT, index=incomplete.index, dtype="datetime64[ns, UTC]")
    incomplete["completed_at"] = incomplete["due_at"]
    parts = [p[REPORT_COLUMNS] for p in (chosen, incomplete) if not p.empty]
    if not parts:
        return _empty(REPORT_COLUMNS)
    return (
        pd.concat(parts, ignore_index=True)
        .sort_values(["case_id", "obligation_key"], kind="stable")
        .reset_index(drop=True)
    )
