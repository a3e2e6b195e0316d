"""A pathway definition in words, and the differences between two definitions in words.

Pure Python over pathways.definitions dataclasses, so the version page, the diff page, the
commands and the tests say the same thing the same way."""

from collections import defaultdict
from dataclasses import dataclass

from pathways.definitions import (
    ALL_TIERS,
    STEP_ANCHOR_PREFIX,
    EscalationRule,
    PathwayDefinition,
    Step,
    TimeStandard,
    ordered_tiers,
)
from pathways.plausible_time import EARLIEST_PLAUSIBLE

ANCHOR_WORDS = {
    "referral": "of referral",
    "contact_missed": "of each missed contact",
    "escalation_raised": "of each escalation being raised",
    "safeguarding_concern": "of each safeguarding concern being raised",
}


def count_text(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def implausible_rows_text(*, cases: int, events: int, organization_slug: str) -> str:
    """What a computation left out because it was dated outside the plausible window, and
    what to do about it ("" when nothing was)."""
    parts = [count_text(n, noun) for n, noun in ((cases, "case"), (events, "event")) if n]
    if not parts:
        return ""
    return (
        f"{' and '.join(parts)} left out: dated before {EARLIEST_PLAUSIBLE:%Y-%m-%d} or in the "
        "future; run manage.py "
        f"repair_implausible_times --org {organization_slug} to list and repair them"
    )


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def hours_text(hours: float) -> str:
    """48 -> "48 h"; whole weeks and longer spans also say the days: "168 h (7 days)"."""
    text = f"{number_text(hours)} h"
    if hours >= 72 and float(hours / 24).is_integer():
        text += f" ({int(hours // 24)} days)"
    return text


def tiers_text(tiers) -> str:
    """ "" for every tier, else "for high-risk cases" / "for medium- and high-risk cases"."""
    tiers = frozenset(tiers)
    if not tiers or tiers == ALL_TIERS:
        return ""
    names = ordered_tiers(tiers)
    if len(names) == 1:
        return f"for {names[0]}-risk cases"
    return f"for {'- and '.join(names)}-risk cases"


def anchor_text(anchor: str, step_names: dict[str, str] | None = None) -> str:
    if anchor.startswith(STEP_ANCHOR_PREFIX):
        key = anchor.removeprefix(STEP_ANCHOR_PREFIX)
        name = (step_names or {}).get(key, key)
        return f"of completing {name}"
    return ANCHOR_WORDS.get(anchor, f"of {anchor}")


def standard_text(standard: TimeStandard, step_names: dict[str, str] | None = None) -> str:
    """ "within 48 h of referral, for high-risk cases"."""
    text = f"within {hours_text(standard.within_hours)} {anchor_text(standard.anchor, step_names)}"
    tiers = tiers_text(standard.tiers)
    return f"{text}, {tiers}" if tiers else text


def rule_text(rule: EscalationRule) -> str:
    """ "2 missed contacts within 168 h (7 days): escalate within 24 h, for high-risk cases"."""
    if rule.missed_contacts == 1:
        trigger = "a missed contact"
    else:
        trigger = f"{rule.missed_contacts} missed contacts within {hours_text(rule.window_hours)}"
    text = f"{trigger}: escalate within {hours_text(rule.escalate_within_hours)}"
    tiers = tiers_text(rule.tiers)
    return f"{text}, {tiers}" if tiers else text


def step_names(definition: PathwayDefinition) -> dict[str, str]:
    return {step.key: step.name for step in definition.steps}


# --- keys in words, for the case page, exports and emails ----------------------------------------


def humanise(key: str) -> str:
    """A key nobody named, as words: "first_home_visit" -> "First home visit"."""
    text = str(key).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


def step_name(key: str, names: dict[str, str] | None = None) -> str:
    """The step's name from the pathway, else its key as words."""
    return (names or {}).get(key) or humanise(key)


def moment_text(value) -> str:
    """ "3 Nov 14:00" (already in the organisation's time zone)."""
    return f"{value.day} {value:%b %H:%M}"


EVENT_ANCHOR_WORDS = {
    "contact_missed": "the missed contact",
    "escalation_raised": "the escalation",
}


def obligation_text(
    *,
    obligation_key: str,
    step: str,
    source: str,
    anchor_at,
    due_at,
    step_names: dict[str, str] | None = None,
    event_types: dict[str, str] | None = None,
) -> str:
    """An obligation in a sentence: "Intake due 48 h after referral, 3 Nov 14:00" or
    "Escalation (Disengagement) due 24 h after the missed contact of 2 Nov 09:00, 3 Nov 09:00".
    ``anchor_at``/``due_at`` in the organisation's time zone; ``event_types``: event pk (as
    text) -> type, for obligations anchored on an event."""
    instance = obligation_key.partition("@")[2]
    if source == "escalation":
        subject = f"Escalation ({humanise(step)})"
    else:
        subject = step_name(step, step_names)
    if instance == "referral":
        after = "referral"
    elif instance.startswith(STEP_ANCHOR_PREFIX):
        after = f"{step_name(instance.removeprefix(STEP_ANCHOR_PREFIX), step_names)} was completed"
    else:
        kind = (event_types or {}).get(instance.removeprefix("event:"), "")
        happening = EVENT_ANCHOR_WORDS.get(kind, "the event")
        after = f"{happening} of {moment_text(anchor_at)}" if anchor_at else happening
    if due_at is None:
        return f"{subject}, after {after}"
    if anchor_at is None:
        return f"{subject} due {moment_text(due_at)}"
    hours = (due_at - anchor_at).total_seconds() / 3600
    return f"{subject} due {hours_text(hours)} after {after}, {moment_text(due_at)}"


def data_fields(data) -> list[tuple[str, str]]:
    """An event's data as labelled fields: [("Complete", "no"), ("Risk tier", "high")]."""
    if not isinstance(data, dict):
        return [("Data", str(data))] if data not in (None, "") else []
    fields = []
    for key, value in data.items():
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif value is None or value == "":
            shown = "—"
        elif isinstance(value, (dict, list)):
            shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        else:
            snake = isinstance(value, str) and "_" in value and value.isidentifier()
            shown = humanise(value) if snake else str(value)
        fields.append((humanise(key), shown))
    return fields


# --- differences ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One difference between two definitions. ``subject`` is pathway, step, time standard,
    escalation rule or order; ``action`` is added, removed or changed; ``key`` the step's or
    rule's key ("" for the pathway)."""

    subject: str
    action: str
    key: str
    text: str


def _quoted(values) -> str:
    return ", ".join(values) or "none"


def version_diff(old: PathwayDefinition, new: PathwayDefinition) -> list[Change]:
    """What changed from ``old`` to ``new``, in the order a reader checks it: the pathway, then
    each step in the new order (removed ones last), then escalation rules."""
    changes: list[Change] = []
    if old.name != new.name:
        changes.append(
            Change("pathway", "changed", "", f"Name changed from “{old.name}” to “{new.name}”.")
        )
    old_steps = {step.key: step for step in old.steps}
    new_steps = {step.key: step for step in new.steps}
    old_names, new_names = step_names(old), step_names(new)
    for step in new.steps:
        before = old_steps.get(step.key)
        if before is None:
            changes.append(_step_added(step, new_names))
        else:
            changes.extend(_step_changes(before, step, old_names, new_names))
    for step in old.steps:
        if step.key not in new_steps:
            changes.append(
                Change(
                    "step",
                    "removed",
                    step.key,
                    f"Step {step.key} ({step.name}) removed: it was {_step_kind_text(step)}.",
                )
            )
    common_old = [key for key in old_steps if key in new_steps]
    common_new = [key for key in new_steps if key in old_steps]
    if common_old != common_new:
        changes.append(
            Change(
                "order",
                "changed",
                "",
                f"Steps reordered: {' → '.join(common_old)} is now {' → '.join(common_new)}.",
            )
        )
    changes.extend(_rule_changes(old.escalation_rules, new.escalation_rules))
    for part, words in (
        ("referral_fields", "What a complete referral carries"),
        ("eligibility", "The eligibility rules"),
        ("risk_tool", "The risk stratification tool"),
    ):
        before, after = old.front_door_dict().get(part), new.front_door_dict().get(part)
        if before != after:
            action = "added" if before is None else "removed" if after is None else "changed"
            changes.append(Change("front door", action, part, f"{words}: {action}."))
    return changes


def _core_text(core: bool) -> str:
    return "core" if core else "adaptable"


def _step_kind_text(step: Step) -> str:
    """ "a core intake step" / "an adaptable review step"."""
    core = _core_text(step.core)
    return f"{'an' if core[0] in 'aeiou' else 'a'} {core} {step.kind} step"


def _step_added(step: Step, names: dict[str, str]) -> Change:
    parts = [_step_kind_text(step)]
    if step.required_fields:
        parts.append(f"requires {_quoted(step.required_fields)}")
    parts.extend(standard_text(standard, names) for standard in step.time_standards)
    return Change(
        "step", "added", step.key, f"Step {step.key} ({step.name}) added: {'; '.join(parts)}."
    )


def _step_changes(
    old: Step, new: Step, old_names: dict[str, str], new_names: dict[str, str]
) -> list[Change]:
    key = new.key
    changes = []

    def changed(text: str, subject: str = "step", action: str = "changed") -> None:
        changes.append(Change(subject, action, key, f"Step {key}: {text}"))

    if old.name != new.name:
        changed(f"name changed from “{old.name}” to “{new.name}”.")
    if old.kind != new.kind:
        changed(f"kind changed from {old.kind} to {new.kind}.")
    if old.core != new.core:
        changed(f"now {_core_text(new.core)} (was {_core_text(old.core)}).")
    added = [field for field in new.required_fields if field not in old.required_fields]
    removed = [field for field in old.required_fields if field not in new.required_fields]
    if added:
        changed(f"required fields added: {_quoted(added)}.")
    if removed:
        changed(f"required fields removed: {_quoted(removed)}.")
    for before, after in _pair_standards(old.time_standards, new.time_standards):
        if before is None:
            changed(
                f"time standard added: {standard_text(after, new_names)}.", "time standard", "added"
            )
        elif after is None:
            changed(
                f"time standard removed: {standard_text(before, old_names)}.",
                "time standard",
                "removed",
            )
        elif standard_text(before, old_names) != standard_text(after, new_names):
            changed(
                f"time standard changed from {standard_text(before, old_names)} "
                f"to {standard_text(after, new_names)}.",
                "time standard",
            )
    return changes


def _pair_standards(old, new):
    """Pairs a step's standards across versions: same anchor and tiers first (a changed number of
    hours), then the same anchor (changed tiers); what is left was added or removed."""
    pairs = []
    left_old, left_new = list(old), list(new)
    for same in (lambda s: (s.anchor, s.tiers), lambda s: s.anchor):
        pending = defaultdict(list)
        for standard in left_old:
            pending[same(standard)].append(standard)
        unmatched = []
        for standard in left_new:
            candidates = pending.get(same(standard))
            if candidates:
                before = candidates.pop(0)
                left_old.remove(before)
                if before != standard:
                    pairs.append((before, standard))
            else:
                unmatched.append(standard)
        left_new = unmatched
    pairs.extend((standard, None) for standard in left_old)
    pairs.extend((None, standard) for standard in left_new)
    return pairs


def _rule_changes(old_rules, new_rules) -> list[Change]:
    changes = []
    old_by_key = {rule.key: rule for rule in old_rules}
    new_keys = {rule.key for rule in new_rules}
    for rule in new_rules:
        before = old_by_key.get(rule.key)
        if before is None:
            changes.append(
                Change(
                    "escalation rule",
                    "added",
                    rule.key,
                    f"Escalation rule “{humanise(rule.key)}” added: {rule_text(rule)}.",
                )
            )
        elif before != rule:
            changes.append(
                Change(
                    "escalation rule",
                    "changed",
                    rule.key,
                    f"Escalation rule “{humanise(rule.key)}” changed from {rule_text(before)} "
                    f"to {rule_text(rule)}.",
                )
            )
    for rule in old_rules:
        if rule.key not in new_keys:
            changes.append(
                Change(
                    "escalation rule",
                    "removed",
                    rule.key,
                    f"Escalation rule “{humanise(rule.key)}” removed (was: {rule_text(rule)}).",
                )
            )
    return changes
