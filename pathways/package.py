"""The replication package of a pathway version: what makes a new site or a new starter deliver
the model. It travels with the version (stored on it, frozen with it, part of its export and
its import, shown in the version diff):

    {
      "roles": [{"key", "title", "description"}],
      "training_modules": [{"code", "title"}],          # the training the model requires
      "shadowing_plan": [{"title", "description"}],
      "supervision_checklist": ["..."],
      "documentation": {"<step key>": {"guidance", "script"?}},
      "intake_script": "...",
      "referral_guidance": "..."
    }

A step's documentation template is its guidance plus the fields its evidence needs: those are
the step's ``required_fields`` in the definition, the very fields the incomplete-assessment
check reads, so the template and the check cannot disagree.

Pure Python like pathways.definitions: the importer, the diff and the tests use it as is."""

from pathways.definitions import KEY_HELP, KEY_PATTERN
from pathways.wording import Change

PARTS = (
    ("roles", "Role descriptions"),
    ("training_modules", "Training modules required"),
    ("shadowing_plan", "Shadowing plan"),
    ("supervision_checklist", "Supervision checklist"),
    ("documentation", "Documentation templates"),
    ("intake_script", "Intake script"),
    ("referral_guidance", "Referral guidance"),
)
PART_NAMES = dict(PARTS)
TITLE_LENGTH = 200
TEXT_LENGTH = 4000
MAX_ITEMS = 50


class PackageError(ValueError):
    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))
        self.errors = errors


def _text(errors, value, path: str, limit: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        errors.append((path, "must be a non-empty string" if required else "must be a string"))
        return ""
    if len(value) > limit:
        errors.append((path, f"must be at most {limit} characters (it has {len(value)})"))
    return value.strip()


def _items(errors, data: dict, name: str) -> list:
    value = data.get(name, [])
    if not isinstance(value, list):
        errors.append((f"package.{name}", "must be a list"))
        return []
    if len(value) > MAX_ITEMS:
        errors.append((f"package.{name}", f"must have at most {MAX_ITEMS} items"))
        return []
    return value


def _records(errors, data: dict, name: str, id_field: str | None, fields: tuple[str, ...]):
    rows, seen = [], set()
    for index, raw in enumerate(_items(errors, data, name)):
        path = f"package.{name}[{index}]"
        if not isinstance(raw, dict):
            errors.append((path, "must be an object"))
            continue
        unknown = set(raw) - set(fields) - ({id_field} if id_field else set())
        if unknown:
            errors.append((path, f"unknown field(s) {', '.join(sorted(unknown))}"))
        row = {}
        if id_field:
            key = raw.get(id_field)
            if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key) or len(key) > 80:
                errors.append((f"{path}.{id_field}", KEY_HELP))
            elif key in seen:
                errors.append((f"{path}.{id_field}", f"{key!r} is used twice"))
            else:
                seen.add(key)
            row[id_field] = key
        for field in fields:
            limit = TITLE_LENGTH if field == "title" else TEXT_LENGTH
            row[field] = _text(errors, raw.get(field), f"{path}.{field}", limit, field == "title")
        rows.append(row)
    return rows


def parse_package(data, *, step_keys) -> dict:
    """The package in its stored form (stripped strings, known parts only), or PackageError
    listing every problem with its path. ``{}`` and None are an empty package."""
    if data in (None, {}):
        return {}
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise PackageError([("package", "must be an object")])
    unknown = set(data) - set(PART_NAMES)
    if unknown:
        errors.append(
            (
                "package",
                f"unknown part(s) {', '.join(sorted(unknown))}; parts: {', '.join(PART_NAMES)}",
            )
        )
    package: dict = {}
    if "roles" in data:
        package["roles"] = _records(errors, data, "roles", "key", ("title", "description"))
    if "training_modules" in data:
        package["training_modules"] = _records(errors, data, "training_modules", "code", ("title",))
    if "shadowing_plan" in data:
        package["shadowing_plan"] = _records(
            errors, data, "shadowing_plan", None, ("title", "description")
        )
    if "supervision_checklist" in data:
        package["supervision_checklist"] = [
            _text(errors, item, f"package.supervision_checklist[{index}]", TITLE_LENGTH)
            for index, item in enumerate(_items(errors, data, "supervision_checklist"))
        ]
    if "documentation" in data:
        documentation = data["documentation"]
        package["documentation"] = {}
        if not isinstance(documentation, dict):
            errors.append(("package.documentation", "must be an object keyed by step key"))
        else:
            for key, raw in documentation.items():
                path = f"package.documentation.{key}"
                if key not in step_keys:
                    errors.append((path, "is not a step of this version"))
                    continue
                if not isinstance(raw, dict) or set(raw) - {"guidance", "script"}:
                    errors.append((path, "must be an object with guidance (and optionally script)"))
                    continue
                template = {
                    "guidance": _text(errors, raw.get("guidance"), path + ".guidance", TEXT_LENGTH)
                }
                if raw.get("script") is not None:
                    template["script"] = _text(errors, raw["script"], path + ".script", TEXT_LENGTH)
                package["documentation"][key] = template
    for name in ("intake_script", "referral_guidance"):
        if name in data:
            package[name] = _text(errors, data[name], f"package.{name}", TEXT_LENGTH)
    if errors:
        raise PackageError(errors)
    return package


def package_missing_parts(package: dict, *, step_keys) -> list[str]:
    """The parts a complete package still lacks, in words ([] when complete)."""
    missing = [
        label for name, label in PARTS if name != "documentation" and not (package or {}).get(name)
    ]
    documented = set((package or {}).get("documentation", {}))
    undocumented = [key for key in step_keys if key not in documented]
    if undocumented:
        missing.append(f"documentation template for {', '.join(undocumented)}")
    return missing


def _by(rows, field):
    return {row.get(field): row for row in rows or []}


def package_diff(old: dict, new: dict) -> list[Change]:
    """What changed in the package, as version diff rows (subject "package: <part>")."""
    old, new = old or {}, new or {}
    changes: list[Change] = []
    for name, id_field in (("roles", "key"), ("training_modules", "code")):
        subject = f"package: {PART_NAMES[name].lower()}"
        before, after = _by(old.get(name), id_field), _by(new.get(name), id_field)
        for key in after.keys() - before.keys():
            changes.append(Change(subject, "added", key, after[key].get("title", "")))
        for key in before.keys() - after.keys():
            changes.append(Change(subject, "removed", key, before[key].get("title", "")))
        for key in sorted(before.keys() & after.keys()):
            if before[key] != after[key]:
                changes.append(Change(subject, "changed", key, after[key].get("title", "")))
    for name in ("shadowing_plan", "supervision_checklist"):
        subject = f"package: {PART_NAMES[name].lower()}"
        before, after = old.get(name) or [], new.get(name) or []
        if before != after:
            action = "added" if not before else "removed" if not after else "changed"
            changes.append(Change(subject, action, "", f"{len(before)} item(s) → {len(after)}"))
    before, after = old.get("documentation") or {}, new.get("documentation") or {}
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) != after.get(key):
            action = "added" if key not in before else "removed" if key not in after else "changed"
            text = (after.get(key) or before.get(key) or {}).get("script") or (
                after.get(key) or before.get(key) or {}
            ).get("guidance", "")
            changes.append(Change("package: documentation template", action, key, text[:200]))
    for name in ("intake_script", "referral_guidance"):
        if (old.get(name) or "") != (new.get(name) or ""):
            action = "added" if not old.get(name) else "removed" if not new.get(name) else "changed"
            changes.append(
                Change(
                    f"package: {PART_NAMES[name].lower()}", action, "", (new.get(name) or "")[:200]
                )
            )
    return sorted(changes, key=lambda c: (c.subject, c.key, c.action))
