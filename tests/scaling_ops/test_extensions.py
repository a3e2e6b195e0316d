"""The one extension mechanism (scaling_ops/extensions.py): ordered, idempotent registration,
every point documented in docs/architecture.md, and no provider against the dependency
direction (DESIGN.md section 2)."""

import ast
import importlib
from pathlib import Path

import pytest

from scaling_ops.extensions import ExtensionPoint, ExtensionSignal, catalogue

ROOT = Path(__file__).resolve().parents[2]
APPS = ("scaling_ops", "pathways", "workforce", "assurance", "learning")
# Who may import whom (DESIGN.md section 2): a provider's app must be the point's app or one of
# the apps that may import it.
IMPORTS = {
    "scaling_ops": set(),
    "pathways": {"scaling_ops"},
    "workforce": {"pathways", "scaling_ops"},
    "assurance": {"pathways", "scaling_ops"},
    "learning": {"assurance", "pathways", "scaling_ops"},
}


def _points():
    for app in ("scaling_ops", "pathways", "assurance"):  # the apps that define points
        importlib.import_module(f"{app}.extension_points")
    return catalogue()


def _provider_app(provider) -> str | None:
    """The app a provider's code lives in: a function's module, or for a value (a NavItem, a
    DemoSeeder, a Directory) the module of the first function it carries."""
    candidates = [provider] if callable(provider) and hasattr(provider, "__module__") else []
    if not hasattr(provider, "__code__"):
        candidates = [v for v in vars(provider).values() if hasattr(v, "__code__")]
    if not candidates:
        return None
    return candidates[0].__module__.split(".")[0]


def _doc_rows() -> dict[str, str]:
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            name = line.split("`")[1]
            rows[name] = line
    return rows


# --- the mechanism ------------------------------------------------------------------------------


def _point(name: str) -> ExtensionPoint:
    return ExtensionPoint(f"test_{name}", defined_by="tests", signature="() -> int")


def test_providers_come_lowest_order_first_and_in_registration_order_among_equals():
    point = _point("order")
    point.register(late := lambda: 3, order=200)
    point.register(first := lambda: 1, order=10)
    point.register(second := lambda: 2, order=10)
    assert point.providers() == [first, second, late]


def test_registering_again_replaces_instead_of_doubling():
    """ready() runs twice under the test runner; nothing may be registered twice."""
    point = _point("again")

    def provider():
        return 1

    point.register(provider, order=50)
    point.register(provider, order=5)
    assert point.providers() == [provider]
    replacement = _point("replacement_target")
    replacement.register(provider, key="user")
    replacement.register(other := lambda: 2, key="user")
    assert replacement.providers() == [other]


def test_register_works_as_a_decorator():
    point = _point("decorator")

    @point.register(order=1)
    def provider():
        return 1

    assert provider() == 1  # the decorator hands the function back unchanged
    assert point.providers() == [provider]


def test_overridden_swaps_the_providers_for_the_block_only():
    point = _point("overridden")
    point.register(kept := lambda: 1)
    with point.overridden(temporary := lambda: 2):
        assert point.providers() == [temporary]
    assert point.providers() == [kept]


def test_a_point_name_cannot_be_defined_twice():
    _point("twice")
    with pytest.raises(ValueError, match="defined twice"):
        _point("twice")


# --- the platform's points ----------------------------------------------------------------------


def _platform_points():
    return [p for p in _points() if p.defined_by in APPS]


def test_every_point_and_signal_is_in_the_architecture_table():
    rows = _doc_rows()
    names = {p.name for p in _platform_points()}
    assert names <= set(rows), f"not documented: {sorted(names - set(rows))}"
    assert set(rows) <= names, f"documented but not defined: {sorted(set(rows) - names)}"
    for point in _platform_points():
        kind = "signal" if isinstance(point, ExtensionSignal) else ""
        assert f"| {point.defined_by} |" in rows[point.name]
        assert not kind or "| signal |" in rows[point.name]


def test_the_table_names_every_app_that_registers_into_a_point():
    rows = _doc_rows()
    for point in _platform_points():
        if isinstance(point, ExtensionSignal):
            continue
        registered_by = rows[point.name].rsplit("|", 2)[-2]
        for provider in point.providers():
            app = _provider_app(provider)
            assert app is None or f"{app}" in registered_by, (point.name, provider)


def test_providers_register_from_the_defining_app_or_an_app_above_it():
    for point in _platform_points():
        if isinstance(point, ExtensionSignal):
            continue
        for provider in point.providers():
            app = _provider_app(provider)
            if app is None or app == point.defined_by:
                continue
            assert point.defined_by in IMPORTS[app], (
                f"{app} registers {provider!r} into {point.name} of {point.defined_by}, "
                "which it may not import"
            )


def test_the_demo_resets_the_apps_above_before_the_cases_they_point_at():
    from scaling_ops.extension_points import demo_resetters

    apps = [reset.__module__ for reset in demo_resetters.providers()]
    assert apps == ["assurance.apps", "workforce.apps", "pathways.apps"]


def test_the_assign_picker_lists_members_before_staff():
    from pathways.extension_points import assignee_directories

    assert [d.prefix for d in assignee_directories.providers()] == ["user", "staff"]


def test_signals_have_their_receivers():
    from assurance.extension_points import snapshot_computed
    from pathways.extension_points import exception_items_triaged

    assert exception_items_triaged.has_listeners()
    assert snapshot_computed.has_listeners()


def test_no_app_keeps_a_bare_module_level_list_or_signal_for_others_to_fill():
    """Every extension point goes through scaling_ops.extensions: a module-level ``[]`` or
    ``Signal()`` in an app is a second, undocumented way to extend it."""
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.Assign | ast.AnnAssign):
                    value = node.value
                    bare_list = isinstance(value, ast.List) and not value.elts
                    bare_signal = (
                        isinstance(value, ast.Call)
                        and isinstance(value.func, ast.Name | ast.Attribute)
                        and getattr(value.func, "id", getattr(value.func, "attr", "")) == "Signal"
                    )
                    if bare_list or bare_signal:
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
