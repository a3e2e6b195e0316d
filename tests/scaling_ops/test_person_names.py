"""People are named by their name, not their username: histories, lists and CSVs use
``person_name`` (the ``|person`` template builtin)."""

from django.template import Context, Template

from scaling_ops.views_common import person_name
from tests.factories import UserFactory


def test_a_person_is_their_full_name_else_their_username(db):
    named = UserFactory(username="sam", first_name="Sam", last_name="Okafor")
    unnamed = UserFactory(username="lena")
    assert person_name(named) == "Sam Okafor"
    assert person_name(unnamed) == "lena"
    assert person_name(None) == ""


def test_history_rows_name_the_person_without_loading_a_library(db):
    named = UserFactory(username="sam", first_name="Sam", last_name="Okafor")
    row = Template('{{ h.history_user|person|default:"system" }}')
    assert row.render(Context({"h": {"history_user": named}})) == "Sam Okafor"
    assert row.render(Context({"h": {"history_user": None}})) == "system"


def test_history_tables_use_the_persons_name():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    raw = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if "history_user.get_username" in path.read_text(encoding="utf-8")
        or "history_user|default" in path.read_text(encoding="utf-8")
    ]
    assert raw == []
