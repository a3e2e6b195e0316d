"""The shared browser walk (scaling_ops/browser_walk.py): what it calls an internal key, and that
the app (the screenshots command included) never reaches into tests/ for it."""

import ast
import sys
from pathlib import Path

import pytest

from scaling_ops import browser_walk

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "text",
    [
        "step:intake/0@referral",
        "escalation:disengagement@event:4655",
        "complete=True",
        "first_home_visit",
        "gap_points",
    ],
)
def test_internal_keys_are_found(text):
    assert browser_walk.keys_in(f"Due: {text} today")


def test_words_and_the_products_name_are_not_keys():
    assert browser_walk.keys_in("First home visit due 48 h after referral, scaling_ops") == []


def test_no_app_module_imports_from_tests():
    offenders = []
    for app in ("scaling_ops", "pathways", "assurance", "workforce", "learning"):
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                offenders += [
                    f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "tests"
                ]
    assert offenders == []


def test_a_missing_playwright_is_named_with_how_to_install_it(monkeypatch):
    monkeypatch.setattr(browser_walk, "chromium_path", lambda: sys.executable)
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(browser_walk.BrowserMissing, match="pip install playwright"):
        browser_walk.start_chromium()


def test_a_missing_chromium_is_named_with_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(browser_walk, "chromium_path", lambda: str(tmp_path / "none"))
    with pytest.raises(browser_walk.BrowserMissing, match="apt-get install -y chromium"):
        browser_walk.start_chromium()
