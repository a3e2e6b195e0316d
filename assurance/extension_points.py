"""Assurance's extension points (see scaling_ops/extensions.py for the mechanism and
docs/architecture.md for who registers what)."""

from collections.abc import Callable

from scaling_ops.extensions import ExtensionPoint, signal

improvement_action_providers: ExtensionPoint[Callable[..., str]] = ExtensionPoint(
    "improvement_action_providers",
    defined_by="assurance",
    signature="(*, source: Incident | DriftSignal | CorrectiveProcess, by: User) -> str  (the "
    "action's reference)",
    doc="Raises an improvement action in the improvement log; the first provider is used. "
    "Without one, people record a reference by hand.",
)
snapshot_computed = signal(
    "snapshot_computed",
    defined_by="assurance",
    arguments="sender=AssuranceSnapshot, organization, month: date, snapshots: list, now",
    doc="Sent after a month's snapshots are stored, inside the organisation's scope (contracts "
    "evaluate their terms here); a receiver's error fails the computation.",
)
