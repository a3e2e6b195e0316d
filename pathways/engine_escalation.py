"""Escalation-rule obligations (DESIGN.md section 3), the one sequential part of the engine.

A rule's next obligation depends on whether the previous one was met and when, so it cannot be a
plain join. The sequential walk is kept small: a vectorised screen first keeps only the cases
that have N missed contacts within W hours at all (resetting the count after a met escalation
only removes windows, so that is a necessary condition), and only those cases' contacts are
walked, as plain integers (nanoseconds since the epoch) sliced out of arrays built once.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pathways.definitions import EscalationRule, PathwayDefinition

ESCALATION_COLUMNS = ["case_id", "obligation_key", "step", "anchor_at", "due_at", "completed_at"]
# The time an obligation that nothing has met yet is "met": later than any event, so it blocks
# the rule for the case, as an open obligation must.
_NEVER = np.iinfo(np.int64).max
_NAT = np.iinfo(np.int64).min  # pandas' integer form of NaT


@dataclass(frozen=True)
class _Contacts:
    """contact_missed events as arrays sorted by (case, time, event_pk), and where each case's
    run starts and ends."""

    case_ids: np.ndarray
    version_ids: np.ndarray
    times: np.ndarray  # int64 ns
    pks: np.ndarray
    tiers: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def of(cls, missed: pd.DataFrame) -> "_Contacts":
        missed = missed.sort_values(["case_id", "occurred_at", "event_pk"], kind="stable")
        case_ids = missed["case_id"].to_numpy()
        starts = np.flatnonzero(np.r_[True, case_ids[1:] != case_ids[:-1]]) if len(case_ids) else []
        return cls(
            case_ids=case_ids,
            version_ids=missed["version_id"].to_numpy(),
            times=_nanoseconds(missed["occurred_at"]),
            pks=missed["event_pk"].to_numpy(),
            tiers=missed["tier"].to_numpy(dtype=object),
            starts=np.asarray(starts, dtype=np.int64),
            ends=np.r_[starts[1:], len(case_ids)].astype(np.int64) if len(case_ids) else starts,
        )

    def cases_with_a_window(self, version_id, rule: EscalationRule) -> Iterator[tuple[int, int]]:
        """(start, end) of each case on ``version_id`` with N contacts within W somewhere."""
        gap = rule.missed_contacts - 1
        window = pd.Timedelta(hours=rule.window_hours).value
        closes_a_window = np.zeros(len(self.times), dtype=bool)
        if gap == 0:
            closes_a_window[:] = True
        elif gap < len(self.times):
            same_case = self.case_ids[gap:] == self.case_ids[:-gap]
            closes_a_window[gap:] = same_case & (self.times[gap:] - self.times[:-gap] <= window)
        has_window = np.logical_or.reduceat(closes_a_window, self.starts)
        on_version = self.version_ids[self.starts] == version_id
        for index in np.flatnonzero(has_window & on_version):
            yield int(self.starts[index]), int(self.ends[index])


def escalation_obligations(
    missed: pd.DataFrame, escalations: pd.DataFrame, definitions: Mapping[int, PathwayDefinition]
) -> pd.DataFrame:
    """Obligations of every escalation rule (ESCALATION_COLUMNS).

    ``missed``: contact_missed events with case_id, version_id, event_pk, occurred_at and tier
    (the case's risk tier at that moment). ``escalations``: escalation_raised events with
    case_id and occurred_at. Both hold only events up to the cutoff, in any order.
    """
    rows: list[tuple] = []
    if not missed.empty:
        contacts = _Contacts.of(missed)
        escalations = escalations.sort_values(["case_id", "occurred_at"], kind="stable")
        raised_cases = escalations["case_id"].to_numpy()
        raised_times = _nanoseconds(escalations["occurred_at"])
        for version_id, definition in definitions.items():
            for rule in definition.escalation_rules:
                for start, end in contacts.cases_with_a_window(version_id, rule):
                    case_id = contacts.case_ids[start]
                    first, last = np.searchsorted(raised_cases, [case_id, case_id + 1])
                    walk = _walk(
                        rule,
                        contacts.times[start:end].tolist(),
                        contacts.pks[start:end].tolist(),
                        contacts.tiers[start:end],
                        raised_times[first:last],
                    )
                    rows.extend((case_id, *row) for row in walk)
    return _frame(rows)


def _walk(
    rule: EscalationRule, times: list[int], pks: list, tiers: np.ndarray, raised: np.ndarray
) -> Iterator[tuple]:
    """One case's missed contacts in time order, as a small state machine.

    The last N counted contacts within W hours open an obligation at the N-th, when the case's
    tier then is one of the rule's. While it is open nothing is counted. It is met by the first
    escalation strictly after its anchor; from then on only contacts strictly after that
    escalation count. Yields (obligation_key, rule key, anchor ns, hours, met ns or _NAT).
    """
    window = pd.Timedelta(hours=rule.window_hours).value
    counted: list[int] = []
    blocked_until: int | None = None  # while one is open: the escalation that meets it
    for at, pk, tier in zip(times, pks, tiers, strict=True):
        if blocked_until is not None:
            if at <= blocked_until:
                continue
            blocked_until, counted = None, []
        counted.append(at)
        recent = counted[-rule.missed_contacts :]
        full_window = len(recent) == rule.missed_contacts and recent[-1] - recent[0] <= window
        if full_window and tier in rule.tiers:
            blocked_until = _first_after(raised, at)
            met_at = _NAT if blocked_until == _NEVER else blocked_until
            key = f"escalation:{rule.key}@event:{pk}"
            yield key, rule.key, at, rule.escalate_within_hours, met_at


def _first_after(times: np.ndarray, at: int) -> int:
    """The first of the sorted ``times`` strictly after ``at``, or _NEVER."""
    index = np.searchsorted(times, at, side="right")
    return int(times[index]) if index < len(times) else _NEVER


def _nanoseconds(times: pd.Series) -> np.ndarray:
    """Aware timestamps as int64 nanoseconds since the epoch: fast to compare and search."""
    naive_utc = times.dt.tz_convert("UTC").dt.tz_localize(None)
    return naive_utc.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _as_timestamps(nanoseconds) -> pd.Series:
    values = np.asarray(nanoseconds, dtype=np.int64).view("datetime64[ns]")
    return pd.Series(values).dt.tz_localize("UTC")


def _frame(rows: list[tuple]) -> pd.DataFrame:
    case_ids, keys, steps, anchors, hours, met = zip(*rows, strict=True) if rows else [()] * 6
    anchor_at = _as_timestamps(anchors)
    return pd.DataFrame(
        {
            "case_id": pd.Series(case_ids, dtype="int64"),
            "obligation_key": pd.Series(keys, dtype=object),
            "step": pd.Series(steps, dtype=object),
            "anchor_at": anchor_at,
            "due_at": anchor_at + pd.to_timedelta(pd.Series(hours, dtype=float), unit="h"),
            "completed_at": _as_timestamps(met),
        }
    )
