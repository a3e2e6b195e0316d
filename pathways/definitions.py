"""Pathway definitions as data (API.md "Pathway definitions"): frozen dataclasses and an
all-or-nothing validator that reports every problem with its path. Pure Python."""

import re
from dataclasses import dataclass

RISK_TIERS = ("low", "medium", "high")
STEP_KINDS = ("intake", "assessment", "touchpoint", "escalation", "review", "closure")
EVENT_ANCHORS = ("contact_missed", "escalation_raised")
ANCHOR_HELP = "must be one of referral, step:<key>, contact_missed, escalation_raised"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class TimeStandard:
    tiers: tuple[str, ...]
    anchor: str
    within_hours: float


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
    tiers: tuple[str, ...]
    missed_contacts: int
    window_hours: float
    escalate_within_hours: float


@dataclass(frozen=True)
class PathwayDefinition:
    slug: str
    name: str
    steps: tuple[Step, ...]
    escalation_rules: tuple[EscalationRule, ...]

    def step(self, key: str) -> Step | None:
        return next((step for step in self.steps if step.key == key), None)

    def to_dict(self) -> dict:
        return {
            "slug": self.slug,
            "name": self.name,
            "steps": [_step_dict(step) for step in self.steps],
            "escalation_rules": [_rule_dict(rule) for rule in self.escalation_rules],
        }


def _tiers_list(tiers: tuple[str, ...]) -> list[str]:
    return list(tiers)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _step_dict(step: Step) -> dict:
    data = {"key": step.key, "name": step.name, "kind": step.kind, "core": step.core}
    if step.required_fields:
        data["required_fields"] = list(step.required_fields)
    standards = []
    for standard in step.time_standards:
        item = {}
        if set(standard.tiers) != set(RISK_TIERS):
            item["tiers"] = _tiers_list(standard.tiers)
        item["anchor"] = standard.anchor
        item["within_hours"] = _number(standard.within_hours)
        standards.append(item)
    data["time_standards"] = standards
    return data


def _rule_dict(rule: EscalationRule) -> dict:
    data = {"key": rule.key}
    if set(rule.tiers) != set(RISK_TIERS):
        data["tiers"] = _tiers_list(rule.tiers)
    data.update(
        missed_contacts=rule.missed_contacts,
        window_hours=_number(rule.window_hours),
        escalate_within_hours=_number(rule.escalate_within_hours),
    )
    return data


class DefinitionError(ValueError):
    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("\n".join(f"{path}: {message}" for path, message in errors))


class _Checker:
    def __init__(self):
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def fields(self, data, path: str, required: set[str], optional: set[str]) -> bool:
        if not isinstance(data, dict):
            self.error(path or "(root)", "must be a JSON object")
            return False
        prefix = f"{path}." if path else ""
        for name in sorted(required - set(data)):
            self.error(f"{prefix}{name}", "is required")
        for name in sorted(set(data) - required - optional):
            allowed = ", ".join(sorted(required | optional))
            self.error(f"{prefix}{name}", f"is not a known field; allowed: {allowed}")
        return True

    def text(self, data: dict, name: str, path: str, pattern=None, hint: str = "") -> str:
        value = data.get(name)
        if name not in data:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.error(path, "must be a non-empty string")
            return ""
        if pattern is not None and not pattern.match(value):
            self.error(path, hint)
        return value

    def positive(self, data: dict, name: str, path: str, integer: bool = False) -> float:
        value = data.get(name)
        if name not in data:
            return 0
        wrong_type = isinstance(value, bool) or not isinstance(value, int | float)
        if wrong_type or (integer and not isinstance(value, int)):
            self.error(path, "must be a whole number" if integer else "must be a number of hours")
            return 0
        if value <= 0 if not integer else value < 1:
            self.error(path, "must be at least 1" if integer else "must be greater than 0")
        return value

    def tiers(self, data: dict, path: str) -> tuple[str, ...]:
        """Kept in the given order so that an export reproduces the imported file."""
        if "tiers" not in data:
            return RISK_TIERS
        value = data["tiers"]
        if not isinstance(value, list) or not value:
            self.error(path, "must be a non-empty list of low, medium, high")
            return ()
        unknown = [tier for tier in value if tier not in RISK_TIERS]
        if unknown:
            self.error(path, f"unknown tier(s) {unknown}; use low, medium, high")
        return tuple(dict.fromkeys(tier for tier in value if tier in RISK_TIERS))


def parse_definition(data) -> PathwayDefinition:
    """Validates a whole definition; raises DefinitionError listing every problem found."""
    check = _Checker()
    if not check.fields(data, "", {"slug", "name", "steps"}, {"escalation_rules"}):
        raise DefinitionError(check.errors)
    slug = check.text(data, "slug", "slug", SLUG, "use lower-case letters, digits and dashes")
    name = check.text(data, "name", "name")
    raw_steps = data.get("steps", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        check.error("steps", "must be a non-empty list of steps")
        raw_steps = []
    keys = [s.get("key") for s in raw_steps if isinstance(s, dict)]
    steps = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_steps):
        path = f"steps[{index}]"
        if not check.fields(
            raw, path, {"key", "name", "kind"}, {"core", "required_fields", "time_standards"}
        ):
            continue
        key = check.text(raw, "key", f"{path}.key", KEY, "use lower-case letters, digits, - or _")
        if key in seen:
            check.error(f"{path}.key", f"duplicates another step's key {key!r}")
        seen.add(key)
        kind = raw.get("kind")
        if kind not in STEP_KINDS:
            check.error(f"{path}.kind", f"must be one of {', '.join(STEP_KINDS)}")
        core = raw.get("core", True)
        if not isinstance(core, bool):
            check.error(f"{path}.core", "must be true or false")
        required = raw.get("required_fields", [])
        if not isinstance(required, list) or not all(
            isinstance(f, str) and f.strip() for f in required
        ):
            check.error(f"{path}.required_fields", "must be a list of non-empty field names")
            required = []
        standards = []
        raw_standards = raw.get("time_standards", [])
        if not isinstance(raw_standards, list):
            check.error(f"{path}.time_standards", "must be a list")
            raw_standards = []
        for s_index, raw_standard in enumerate(raw_standards):
            s_path = f"{path}.time_standards[{s_index}]"
            if not check.fields(raw_standard, s_path, {"anchor", "within_hours"}, {"tiers"}):
                continue
            anchor = raw_standard.get("anchor")
            if not isinstance(anchor, str) or not (
                anchor == "referral" or anchor in EVENT_ANCHORS or anchor.startswith("step:")
            ):
                check.error(f"{s_path}.anchor", ANCHOR_HELP)
            elif anchor.startswith("step:"):
                upstream = anchor.removeprefix("step:")
                if upstream not in keys:
                    check.error(f"{s_path}.anchor", f"names no step of this pathway: {upstream!r}")
                elif upstream == key:
                    check.error(f"{s_path}.anchor", "a step cannot be anchored on itself")
            within = check.positive(raw_standard, "within_hours", f"{s_path}.within_hours")
            tiers = check.tiers(raw_standard, f"{s_path}.tiers")
            standards.append(TimeStandard(tiers, anchor or "", float(within or 0)))
        steps.append(
            Step(
                key, raw.get("name", ""), kind or "", bool(core), tuple(required), tuple(standards)
            )
        )
    _check_cycles(check, steps)
    rules = []
    raw_rules = data.get("escalation_rules", [])
    if not isinstance(raw_rules, list):
        check.error("escalation_rules", "must be a list")
        raw_rules = []
    rule_keys: set[str] = set()
    for index, raw in enumerate(raw_rules):
        path = f"escalation_rules[{index}]"
        if not check.fields(
            raw,
            path,
            {"key", "missed_contacts", "window_hours", "escalate_within_hours"},
            {"tiers"},
        ):
            continue
        key = check.text(raw, "key", f"{path}.key", KEY, "use lower-case letters, digits, - or _")
        if key in rule_keys:
            check.error(f"{path}.key", f"duplicates another rule's key {key!r}")
        rule_keys.add(key)
        rules.append(
            EscalationRule(
                key,
                check.tiers(raw, f"{path}.tiers"),
                int(check.positive(raw, "missed_contacts", f"{path}.missed_contacts", True) or 0),
                float(check.positive(raw, "window_hours", f"{path}.window_hours") or 0),
                float(
                    check.positive(raw, "escalate_within_hours", f"{path}.escalate_within_hours")
                    or 0
                ),
            )
        )
    if check.errors:
        raise DefinitionError(check.errors)
    return PathwayDefinition(slug, name, tuple(steps), tuple(rules))


def _check_cycles(check: _Checker, steps: list[Step]) -> None:
    upstream = {
        step.key: {
            s.anchor.removeprefix("step:")
            for s in step.time_standards
            if s.anchor.startswith("step:")
        }
        for step in steps
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in upstream.get(start, ()):
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    for index, step in enumerate(steps):
        if any(reaches(up, step.key, {up}) for up in upstream[step.key] if up != step.key):
            check.error(f"steps[{index}].time_standards", "step: anchors form a cycle")
