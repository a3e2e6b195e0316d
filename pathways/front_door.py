"""The front door of a pathway definition (README "The front door"): what a complete referral
carries (``referral_fields``), who the service is for (``eligibility``) and how risk is scored
(``risk_tool``). Frozen dataclasses, their export shape, their validation (through the
definition's error collector, so one upload lists every problem with its path) and their
evaluation on one referral or one assessment.

Pure Python on purpose, like ``pathways.definitions``: ingest, the engine and the tests use it
without Django."""

import math
import re
from dataclasses import dataclass

TIERS = ("low", "medium", "high")
OPERATORS = ("equals", "not_equals", "in", "not_in", "at_least", "at_most", "present")
OPERATOR_HELP = "must be one of " + ", ".join(OPERATORS)
GOVERNS = ("partner", "computed")
ATTRIBUTE_FIELDS = ("language_need", "disability", "rurality", "housing")
ATTRIBUTES_PREFIX = "attributes."
REFERRAL_PREFIX = "referral."
FIELD_KEY = re.compile(r"[a-z0-9_]+")
FIELD_KEY_HELP = "must use only lower-case letters, digits and '_' (e.g. discharge_medication_list)"
MAX_FIELDS = 50
MAX_REASON = 300

ELIGIBLE, INELIGIBLE, NOT_ASSESSABLE = "eligible", "ineligible", "not_assessable"

REFERRAL_FIELD_FIELDS = ({"key", "name"}, {"required"})
RULE_FIELDS = ({"key", "field", "op", "reason"}, {"value"})
TOOL_FIELDS = ({"step", "items", "thresholds"}, {"governs"})
ITEM_FIELDS = ({"field", "points"}, set())
THRESHOLD_FIELDS = ({"medium", "high"}, set())


@dataclass(frozen=True)
class ReferralField:
    key: str
    name: str
    required: bool


@dataclass(frozen=True)
class EligibilityRule:
    key: str
    field: str  # "attributes.<name>" or "referral.<key>"
    op: str
    value: object  # a scalar, a tuple of scalars, or None for ``present``
    reason: str


@dataclass(frozen=True)
class RiskItem:
    field: str
    points: tuple[tuple[str, float], ...]  # (answer, points), as written

    def points_for(self, answer) -> float | None:
        wanted = answer_text(answer)
        return next((points for text, points in self.points if text == wanted), None)


@dataclass(frozen=True)
class RiskTool:
    step: str
    items: tuple[RiskItem, ...]
    medium: float
    high: float
    governs: str = "partner"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(item.field for item in self.items)

    def score(self, data) -> float | None:
        """The points of an assessment's answers, or None when a field is missing or holds an
        answer the tool does not list (the tool then says nothing)."""
        if not isinstance(data, dict) or data.get("complete") is False:
            return None
        total = 0.0
        for item in self.items:
            if item.field not in data:
                return None
            points = item.points_for(data[item.field])
            if points is None:
                return None
            total += points
        return total

    def tier(self, data) -> str | None:
        """low below ``medium``, medium from ``medium``, high from ``high`` (thresholds count
        as reached when the score equals them)."""
        score = self.score(data)
        if score is None:
            return None
        if score >= self.high:
            return "high"
        if score >= self.medium:
            return "medium"
        return "low"


def answer_text(answer) -> str:
    """An answer as the tool's ``points`` keys write it: true/false for booleans, 3 for 3.0."""
    if isinstance(answer, bool):
        return "true" if answer else "false"
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


# --- evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    missing_required: tuple[str, ...]
    missing_recommended: tuple[str, ...]

    @property
    def is_complete(self) -> bool:
        return not self.missing_required


def _given(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def referral_completeness(fields: tuple[ReferralField, ...], referral: dict) -> Completeness:
    """The declared fields a referral lacks (absent, null or blank), in definition order."""
    missing = [field for field in fields if not _given(referral.get(field.key))]
    return Completeness(
        tuple(field.key for field in missing if field.required),
        tuple(field.key for field in missing if not field.required),
    )


@dataclass(frozen=True)
class Eligibility:
    status: str  # eligible | ineligible | not_assessable | "" (the pathway has no rules)
    failing: tuple[EligibilityRule, ...] = ()
    unassessable: tuple[EligibilityRule, ...] = ()


def _rule_outcome(rule: EligibilityRule, attributes: dict, referral: dict) -> bool | None:
    """True when the rule holds, False when it fails, None when the value it reads is missing
    or of the wrong kind (cannot say)."""
    if rule.field.startswith(ATTRIBUTES_PREFIX):
        value = attributes.get(rule.field.removeprefix(ATTRIBUTES_PREFIX))
    else:
        value = referral.get(rule.field.removeprefix(REFERRAL_PREFIX))
    if rule.op == "present":
        return _given(value)
    if not _given(value):
        return None
    if rule.op in ("at_least", "at_most"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value >= rule.value if rule.op == "at_least" else value <= rule.value
    if rule.op == "equals":
        return _same(value, rule.value)
    if rule.op == "not_equals":
        return not _same(value, rule.value)
    inside = any(_same(value, option) for option in rule.value)
    return inside if rule.op == "in" else not inside


def _same(a, b) -> bool:
    # JSON true is not 1: a boolean matches only a boolean.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def referral_eligibility(
    rules: tuple[EligibilityRule, ...], attributes: dict, referral: dict
) -> Eligibility:
    """Ineligible when any rule fails; else not assessable when any rule cannot be read; else
    eligible. "" when there are no rules."""
    if not rules:
        return Eligibility("")
    outcomes = [(rule, _rule_outcome(rule, attributes, referral)) for rule in rules]
    failing = tuple(rule for rule, outcome in outcomes if outcome is False)
    unassessable = tuple(rule for rule, outcome in outcomes if outcome is None)
    if failing:
        return Eligibility(INELIGIBLE, failing, unassessable)
    if unassessable:
        return Eligibility(NOT_ASSESSABLE, (), unassessable)
    return Eligibility(ELIGIBLE)


# --- export --------------------------------------------------------------------------------------


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def front_door_dict(
    referral_fields: tuple[ReferralField, ...],
    eligibility: tuple[EligibilityRule, ...],
    risk_tool: RiskTool | None,
) -> dict:
    """The parts that are set, in the definition's JSON shape (nothing for a pathway without)."""
    data: dict = {}
    if referral_fields:
        data["referral_fields"] = [
            {"key": field.key, "name": field.name, "required": field.required}
            for field in referral_fields
        ]
    if eligibility:
        data["eligibility"] = [_rule_dict(rule) for rule in eligibility]
    if risk_tool is not None:
        data["risk_tool"] = {
            "step": risk_tool.step,
            "governs": risk_tool.governs,
            "items": [
                {
                    "field": item.field,
                    "points": {answer: _number(points) for answer, points in item.points},
                }
                for item in risk_tool.items
            ],
            "thresholds": {"medium": _number(risk_tool.medium), "high": _number(risk_tool.high)},
        }
    return data


def _rule_dict(rule: EligibilityRule) -> dict:
    data = {"key": rule.key, "field": rule.field, "op": rule.op}
    if rule.op in ("in", "not_in"):
        data["value"] = list(rule.value)
    elif rule.op != "present":
        data["value"] = rule.value
    data["reason"] = rule.reason
    return data


# --- validation ----------------------------------------------------------------------------------


def parse_front_door(check, data: dict, steps: dict[str, str]) -> dict:
    """The three parts of ``data`` as keyword arguments of PathwayDefinition, problems reported
    to ``check`` (the definition's ``_Checker``). ``steps`` maps step keys to kinds."""
    referral_fields = _parse_referral_fields(check, data)
    keys = {field.key for field in referral_fields}
    return {
        "referral_fields": tuple(referral_fields),
        "eligibility": tuple(_parse_rules(check, data, keys)),
        "risk_tool": _parse_tool(check, data["risk_tool"], steps) if "risk_tool" in data else None,
    }


def _bounded_list(check, data: dict, name: str) -> list:
    items = check.list_of(data, name, name)
    if len(items) > MAX_FIELDS:
        check.error(name, f"may hold at most {MAX_FIELDS} entries")
        return []
    return items


def _field_key(check, value, path: str, seen: set[str], what: str) -> str:
    if not isinstance(value, str) or not FIELD_KEY.fullmatch(value) or len(value) > 80:
        check.error(path, f"{FIELD_KEY_HELP}, at most 80 characters")
        return ""
    if value in seen:
        check.error(path, f"{value!r} is already the key of another {what}; keys must be unique")
    seen.add(value)
    return value


def _parse_referral_fields(check, data: dict) -> list[ReferralField]:
    seen: set[str] = set()
    fields = []
    for index, raw in enumerate(_bounded_list(check, data, "referral_fields")):
        path = f"referral_fields[{index}]"
        if not check.is_object(raw, path, REFERRAL_FIELD_FIELDS):
            continue
        key = _field_key(check, raw.get("key"), f"{path}.key", seen, "referral field")
        name = check.text(raw, "name", f"{path}.name")
        if len(name) > 200:
            check.error(f"{path}.name", "must be at most 200 characters")
        required = raw.get("required", True)
        if not isinstance(required, bool):
            check.error(f"{path}.required", "must be true (required) or false (recommended)")
        fields.append(ReferralField(key, name, required is True))
    return fields


def _is_scalar(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool) and not (isinstance(value, str) and len(value) > 200)


def _parse_rules(check, data: dict, referral_keys: set[str]) -> list[EligibilityRule]:
    seen: set[str] = set()
    rules = []
    for index, raw in enumerate(_bounded_list(check, data, "eligibility")):
        path = f"eligibility[{index}]"
        if not check.is_object(raw, path, RULE_FIELDS):
            continue
        key = _field_key(check, raw.get("key"), f"{path}.key", seen, "eligibility rule")
        field = _rule_field(check, raw.get("field"), f"{path}.field", referral_keys)
        op = raw.get("op")
        if op not in OPERATORS:
            check.error(f"{path}.op", OPERATOR_HELP)
        value = _rule_value(check, op, raw, f"{path}.value")
        reason = check.text(raw, "reason", f"{path}.reason")
        if len(reason) > MAX_REASON:
            check.error(f"{path}.reason", f"must be at most {MAX_REASON} characters")
        rules.append(EligibilityRule(key, field, str(op), value, reason))
    return rules


def _rule_field(check, field, path: str, referral_keys: set[str]) -> str:
    if isinstance(field, str) and field.startswith(ATTRIBUTES_PREFIX):
        if field.removeprefix(ATTRIBUTES_PREFIX) in ATTRIBUTE_FIELDS:
            return field
        check.error(
            path,
            "names no coded attribute; use attributes." + " or attributes.".join(ATTRIBUTE_FIELDS),
        )
        return ""
    if isinstance(field, str) and field.startswith(REFERRAL_PREFIX):
        if field.removeprefix(REFERRAL_PREFIX) in referral_keys:
            return field
        check.error(path, "names no field of referral_fields; declare it there first")
        return ""
    check.error(path, "must be attributes.<name> or referral.<key of a referral field>")
    return ""


def _rule_value(check, op, raw: dict, path: str):
    value = raw.get("value")
    if op == "present":
        if "value" in raw:
            check.error(path, "is not used by op present; remove it")
        return None
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or not all(map(_is_scalar, value)):
            check.error(path, f"op {op} needs a non-empty list of strings, numbers or booleans")
            return ()
        return tuple(value)
    if op in ("at_least", "at_most"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            check.error(path, f"op {op} needs a number")
            return 0
        return value
    if op in ("equals", "not_equals") and ("value" not in raw or not _is_scalar(value)):
        check.error(path, f"op {op} needs a string, number or boolean")
    return value


def _parse_tool(check, raw, steps: dict[str, str]) -> RiskTool | None:
    path = "risk_tool"
    if not check.is_object(raw, path, TOOL_FIELDS):
        return None
    step = raw.get("step")
    if steps.get(step) != "assessment":
        check.error(f"{path}.step", "must be the key of an assessment step of this pathway")
    governs = raw.get("governs", "partner")
    if governs not in GOVERNS:
        check.error(
            f"{path}.governs",
            "must be partner (the partner's tier governs time standards) or computed (the "
            "tool's tier does)",
        )
    items = []
    seen: set[str] = set()
    raw_items = check.list_of(raw, "items", f"{path}.items")
    if "items" in raw and isinstance(raw_items, list) and not raw_items:
        check.error(f"{path}.items", "must list at least one scored field")
    for index, raw_item in enumerate(raw_items[:MAX_FIELDS]):
        item_path = f"{path}.items[{index}]"
        if not check.is_object(raw_item, item_path, ITEM_FIELDS):
            continue
        field = raw_item.get("field")
        if not isinstance(field, str) or not field.strip() or len(field) > 80:
            check.error(
                f"{item_path}.field", "must be an assessment field name of 1 to 80 characters"
            )
        elif field in seen:
            check.error(f"{item_path}.field", f"{field!r} is already scored by another item")
        seen.add(field)
        items.append(RiskItem(str(field), _points(check, raw_item.get("points"), item_path)))
    medium, high = _thresholds(check, raw.get("thresholds"), f"{path}.thresholds")
    return RiskTool(str(step), tuple(items), medium, high, str(governs))


def _points(check, points, path: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(points, dict) or not points:
        check.error(f"{path}.points", 'must map each answer to its points, e.g. {"yes": 2}')
        return ()
    result = []
    for answer, value in points.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            check.error(f"{path}.points.{answer}", "must be a number of points")
            continue
        result.append((answer, float(value)))
    return tuple(result)


def _thresholds(check, raw, path: str) -> tuple[float, float]:
    if not check.is_object(raw, path, THRESHOLD_FIELDS):
        return 0.0, 0.0
    values = []
    for name in ("medium", "high"):
        value = raw.get(name)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            if name in raw:
                check.error(f"{path}.{name}", "must be the score from which the tier applies")
            values.append(0.0)
        else:
            values.append(float(value))
    if values[0] > values[1]:
        check.error(f"{path}.high", "must be at least the medium threshold")
    return values[0], values[1]
