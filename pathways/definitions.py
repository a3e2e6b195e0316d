"""Pathway definitions as data (API.md "Pathway definitions"): frozen dataclasses, the JSON shape
they export to, and an all-or-nothing validator that reports every problem with its path.

Pure Python on purpose: the exception engine, the importer and the tests use it without Django.
"""

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pathways.front_door import (
    EligibilityRule,
    ReferralField,
    RiskTool,
    front_door_dict,
    parse_front_door,
)

RISK_TIERS = ("low", "medium", "high")
ALL_TIERS = frozenset(RISK_TIERS)
STEP_KINDS = ("intake", "assessment", "touchpoint", "escalation", "review", "closure")
REFERRAL_ANCHOR = "referral"
STEP_ANCHOR_PREFIX = "step:"
SAFEGUARDING_ANCHOR = "safeguarding_concern"
EVENT_ANCHORS = ("contact_missed", "escalation_raised", SAFEGUARDING_ANCHOR)
ANCHOR_HELP = (
    "must be one of referral, step:<key>, contact_missed, escalation_raised, safeguarding_concern"
)
SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
# Keys end up inside "step:<key>" anchors and obligation keys ("step:intake/0@referral"), so
# they may not contain the separators those use.
KEY_PATTERN = re.compile(r"[a-z0-9_-]+")
KEY_HELP = "must use only lower-case letters, digits, '_' and '-' (e.g. risk_assessment)"

FRONT_DOOR_FIELDS = {"referral_fields", "eligibility", "risk_tool"}
ROOT_FIELDS = ({"slug", "name", "steps"}, {"escalation_rules", *FRONT_DOOR_FIELDS})
STEP_FIELDS = ({"key", "name", "kind"}, {"core", "required_fields", "time_standards"})
STANDARD_FIELDS = ({"anchor", "within_hours"}, {"tiers"})
RULE_FIELDS = ({"key", "missed_contacts", "window_hours", "escalate_within_hours"}, {"tiers"})


def ordered_tiers(tiers: Iterable[str]) -> list[str]:
    """Tiers in low, medium, high order: the stable form for exports and storage."""
    chosen = set(tiers)
    return [tier for tier in RISK_TIERS if tier in chosen]


@dataclass(frozen=True)
class TimeStandard:
    tiers: frozenset[str]
    anchor: str
    within_hours: float

    def __post_init__(self) -> None:
        # Rows rebuilt from the database carry lists or tuples; the meaning is a set.
        object.__setattr__(self, "tiers", frozenset(self.tiers))

    @property
    def upstream_step(self) -> str | None:
        """For a ``step:<key>`` anchor, the key whose first completion starts the clock."""
        if self.anchor.startswith(STEP_ANCHOR_PREFIX):
            return self.anchor.removeprefix(STEP_ANCHOR_PREFIX)
        return None


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    kind: str
    core: bool
    required_fields: tuple[str, ...]
    time_standards: tuple[TimeStandard, ...]


@dataclass(frozen=True)
class EscalationRule:
    key: str
    tiers: frozenset[str]
    missed_contacts: int
    window_hours: float
    escalate_within_hours: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", frozenset(self.tiers))


@dataclass(frozen=True)
class PathwayDefinition:
    slug: str
    name: str
    steps: tuple[Step, ...]
    escalation_rules: tuple[EscalationRule, ...]
    # The front door (pathways.front_door); empty for a pathway that declares none.
    referral_fields: tuple[ReferralField, ...] = ()
    eligibility: tuple[EligibilityRule, ...] = ()
    risk_tool: RiskTool | None = None

    def step(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)

    def to_dict(self) -> dict:
        """The API.md JSON shape; ``parse_definition(d.to_dict()) == d``."""
        return {
            "slug": self.slug,
            "name": self.name,
            "steps": [_step_dict(step) for step in self.steps],
            "escalation_rules": [_rule_dict(rule) for rule in self.escalation_rules],
            **self.front_door_dict(),
        }

    def front_door_dict(self) -> dict:
        """The front-door parts that are set, as stored on the version and exported."""
        return front_door_dict(self.referral_fields, self.eligibility, self.risk_tool)


def _number(value: float) -> float | int:
    """48.0 exports as 48, as a person would have written it."""
    return int(value) if float(value).is_integer() else value


def _with_tiers(data: dict, tiers: frozenset[str]) -> dict:
    if tiers != ALL_TIERS:  # all three is the default and is left out
        data["tiers"] = ordered_tiers(tiers)
    return data


def _standard_dict(standard: TimeStandard) -> dict:
    data = _with_tiers({}, standard.tiers)
    data.update(anchor=standard.anchor, within_hours=_number(standard.within_hours))
    return data


def _step_dict(step: Step) -> dict:
    data = {"key": step.key, "name": step.name, "kind": step.kind, "core": step.core}
    if step.required_fields:
        data["required_fields"] = list(step.required_fields)
    data["time_standards"] = [_standard_dict(standard) for standard in step.time_standards]
    return data


def _rule_dict(rule: EscalationRule) -> dict:
    data = _with_tiers({"key": rule.key}, rule.tiers)
    data.update(
        missed_contacts=rule.missed_contacts,
        window_hours=_number(rule.window_hours),
        escalate_within_hours=_number(rule.escalate_within_hours),
    )
    return data


class DefinitionError(ValueError):
    """Every problem of a rejected definition, as (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = list(errors)
        super().__init__("\n".join(f"{path}: {message}" for path, message in self.errors))


class _Checker:
    """Collects errors instead of stopping at the first, so one upload shows them all."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def is_object(self, data, path: str, fields: tuple[set[str], set[str]]) -> bool:
        """Checks it is an object with the required fields and no unknown ones."""
        required, optional = fields
        if not isinstance(data, dict):
            self.error(path or "(root)", "must be a JSON object")
            return False
        prefix = f"{path}." if path else ""
        for name in sorted(required - set(data)):
            self.error(f"{prefix}{name}", "is required")
        allowed = ", ".join(sorted(required | optional))
        for name in sorted(set(data) - required - optional, key=str):
            self.error(f"{prefix}{name}", f"is not a known field; remove it (allowed: {allowed})")
        return True

    def text(self, data: dict, name: str, path: str) -> str:
        value = data.get(name)
        if name in data and (not isinstance(value, str) or not value.strip()):
            self.error(path, "must be a non-empty string")
            return ""
        return value if isinstance(value, str) else ""

    def key(self, data: dict, path: str, seen: set[str], what: str) -> str:
        key = self.text(data, "key", path)
        if key and not KEY_PATTERN.fullmatch(key):
            self.error(path, KEY_HELP)
        elif key in seen:
            self.error(path, f"{key!r} is already the key of another {what}; keys must be unique")
        if key:
            seen.add(key)
        return key

    def hours(self, data: dict, name: str, path: str) -> float:
        value = data.get(name)
        if name not in data:
            return 0.0
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.error(path, "must be a number of hours greater than 0")
            return 0.0
        if not math.isfinite(value) or value <= 0:
            self.error(path, "must be a number of hours greater than 0")
        return float(value)

    def count(self, data: dict, name: str, path: str) -> int:
        value = data.get(name)
        if name not in data:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.error(path, "must be a whole number of at least 1")
            return 0
        return value

    def tiers(self, data: dict, path: str) -> frozenset[str]:
        if "tiers" not in data:
            return ALL_TIERS
        value = data["tiers"]
        if not isinstance(value, list) or not value:
            self.error(path, "must be a non-empty list of low, medium, high (or left out for all)")
            return frozenset()
        unknown = [tier for tier in value if tier not in RISK_TIERS]
        if unknown:
            names = ", ".join(repr(tier) for tier in unknown)
            self.error(path, f"has unknown tier {names}; use low, medium or high")
        return frozenset(tier for tier in value if tier in RISK_TIERS)

    def list_of(self, data: dict, name: str, path: str) -> list:
        value = data.get(name, [])
        if not isinstance(value, list):
            self.error(path, "must be a list")
            return []
        return value


def parse_definition(data: dict) -> PathwayDefinition:
    """The definition in ``data``, or DefinitionError listing every problem (nothing partial)."""
    check = _Checker()
    if not check.is_object(data, "", ROOT_FIELDS):
        raise DefinitionError(check.errors)
    slug = check.text(data, "slug", "slug")
    if slug and not SLUG_PATTERN.fullmatch(slug):
        check.error("slug", "must use only lower-case letters, digits and '-' (hospital-to-home)")
    name = check.text(data, "name", "name")
    raw_steps = data.get("steps", [])
    if "steps" in data and (not isinstance(raw_steps, list) or not raw_steps):
        check.error("steps", "must be a non-empty list: a pathway needs at least one step")
        raw_steps = []
    steps = _parse_steps(check, raw_steps)
    rules = _parse_rules(check, check.list_of(data, "escalation_rules", "escalation_rules"))
    front_door = parse_front_door(check, data, {step.key: step.kind for step in steps})
    if check.errors:
        raise DefinitionError(check.errors)
    return PathwayDefinition(slug, name, tuple(steps), tuple(rules), **front_door)


def _parse_steps(check: _Checker, raw_steps: list) -> list[Step]:
    step_keys = {
        raw["key"] for raw in raw_steps if isinstance(raw, dict) and isinstance(raw.get("key"), str)
    }
    seen: set[str] = set()
    edges: list[tuple[str, str, str]] = []  # (step key, upstream key, path of the anchor)
    steps = [
        _parse_step(check, raw, f"steps[{index}]", seen, step_keys, edges)
        for index, raw in enumerate(raw_steps)
    ]
    _check_cycles(check, edges)
    return [step for step in steps if step is not None]


def _parse_step(
    check: _Checker,
    raw,
    path: str,
    seen: set[str],
    step_keys: set[str],
    edges: list[tuple[str, str, str]],
) -> Step | None:
    if not check.is_object(raw, path, STEP_FIELDS):
        return None
    key = check.key(raw, f"{path}.key", seen, "step")
    name = check.text(raw, "name", f"{path}.name")
    kind = raw.get("kind")
    if "kind" in raw and kind not in STEP_KINDS:
        check.error(f"{path}.kind", f"must be one of {', '.join(STEP_KINDS)}")
    core = raw.get("core", True)
    if not isinstance(core, bool):
        check.error(f"{path}.core", "must be true or false")
    required = check.list_of(raw, "required_fields", f"{path}.required_fields")
    if not all(isinstance(field, str) and field.strip() for field in required):
        check.error(f"{path}.required_fields", "must be a list of non-empty field names")
    standards = []
    raw_standards = check.list_of(raw, "time_standards", f"{path}.time_standards")
    for index, raw_standard in enumerate(raw_standards):
        standard_path = f"{path}.time_standards[{index}]"
        standard = _parse_standard(check, raw_standard, standard_path, step_keys)
        if standard is None:
            continue
        if standard.upstream_step in step_keys:
            edges.append((key, standard.upstream_step, f"{standard_path}.anchor"))
        standards.append(standard)
    return Step(key, name, str(kind), core is True, tuple(map(str, required)), tuple(standards))


def _parse_standard(check: _Checker, raw, path: str, step_keys: set[str]) -> TimeStandard | None:
    if not check.is_object(raw, path, STANDARD_FIELDS):
        return None
    anchor = _anchor(check, raw["anchor"], f"{path}.anchor", step_keys) if "anchor" in raw else ""
    within = check.hours(raw, "within_hours", f"{path}.within_hours")
    tiers = check.tiers(raw, f"{path}.tiers")
    return TimeStandard(tiers, anchor, within)


def _anchor(check: _Checker, anchor, path: str, step_keys: set[str]) -> str:
    is_known = isinstance(anchor, str) and (
        anchor == REFERRAL_ANCHOR
        or anchor in EVENT_ANCHORS
        or anchor.startswith(STEP_ANCHOR_PREFIX)
    )
    if not is_known:
        check.error(path, ANCHOR_HELP)
        return ""
    upstream = anchor.removeprefix(STEP_ANCHOR_PREFIX)
    if anchor.startswith(STEP_ANCHOR_PREFIX) and upstream not in step_keys:
        check.error(
            path, f"names no step of this pathway ({upstream!r}); use step:<key> of another step"
        )
    return anchor


def _check_cycles(check: _Checker, edges: list[tuple[str, str, str]]) -> None:
    """A ``step:`` anchor on a cycle could never start its clock; name each anchor on one."""
    upstream_of: dict[str, set[str]] = {}
    for step, upstream, _ in edges:
        upstream_of.setdefault(step, set()).add(upstream)
    for step, upstream, path in edges:
        if step == upstream:
            check.error(path, "anchors the step on its own completion; use another step's key")
            continue
        route = _route(upstream_of, upstream, step)
        if route is not None:
            loop = " -> ".join([step, *route])
            check.error(
                path,
                f"creates a cycle of step anchors ({loop}); anchor on a step that does not wait for this one",
            )


def _route(upstream_of: dict[str, set[str]], start: str, target: str) -> list[str] | None:
    """Keys from ``start`` to ``target`` following upstream links, or None (breadth first)."""
    parents: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        current = frontier.pop(0)
        if current == target:
            route = [current]
            while parents[route[0]] is not None:
                route.insert(0, parents[route[0]])
            return route
        for nxt in sorted(upstream_of.get(current, ())):
            if nxt not in parents:
                parents[nxt] = current
                frontier.append(nxt)
    return None


def _parse_rules(check: _Checker, raw_rules: list) -> list[EscalationRule]:
    seen: set[str] = set()
    rules = []
    for index, raw in enumerate(raw_rules):
        path = f"escalation_rules[{index}]"
        if not check.is_object(raw, path, RULE_FIELDS):
            continue
        rules.append(
            EscalationRule(
                key=check.key(raw, f"{path}.key", seen, "escalation rule"),
                tiers=check.tiers(raw, f"{path}.tiers"),
                missed_contacts=check.count(raw, "missed_contacts", f"{path}.missed_contacts"),
                window_hours=check.hours(raw, "window_hours", f"{path}.window_hours"),
                escalate_within_hours=check.hours(
                    raw, "escalate_within_hours", f"{path}.escalate_within_hours"
                ),
            )
        )
    return rules


def stored_front_door(data: dict, steps) -> dict:
    """The front door stored on a version (validated when it was imported) as keyword
    arguments of PathwayDefinition."""
    check = _Checker()
    parts = parse_front_door(check, data or {}, {step.key: step.kind for step in steps})
    if check.errors:
        raise DefinitionError(check.errors)
    return parts


def stored_referral_rules(
    data: dict,
) -> tuple[tuple[ReferralField, ...], tuple[EligibilityRule, ...]]:
    """A stored front door's referral fields and eligibility rules (what a case PUT checks)."""
    parts = stored_front_door({k: v for k, v in (data or {}).items() if k != "risk_tool"}, ())
    return parts["referral_fields"], parts["eligibility"]


def stored_risk_tool(tool: dict) -> RiskTool:
    """A stored front door's risk tool (its step was checked to be an assessment on import)."""
    check = _Checker()
    parts = parse_front_door(check, {"risk_tool": tool}, {tool.get("step"): "assessment"})
    if check.errors:
        raise DefinitionError(check.errors)
    return parts["risk_tool"]
