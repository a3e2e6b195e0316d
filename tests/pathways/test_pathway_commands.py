"""``manage.py import_pathway`` and ``export_pathway``: what they print, their exit status, and
that a rejected file stores nothing."""

import json

import pytest
from django.core.management import call_command, execute_from_command_line
from django.db import connections

from pathways.models import Pathway, PathwayVersion
from scaling_ops import tenancy
from tests.pathways.version_helpers import (
    API_EXAMPLE,
    DEMO_FILES,
    FIXTURES,
    example,
    import_version,
    normalised,
)


@pytest.fixture
def run(personas, monkeypatch, capsys):
    """Runs a command as `manage.py` would: returns (exit status, stdout, stderr)."""
    # run_from_argv closes connections when done; inside a test's transaction that would
    # poison the rest of the test.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(*argv):
        try:
            execute_from_command_line(["manage.py", *argv])
            status = 0
        except SystemExit as exit_:
            status = exit_.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture
def api_file(tmp_path):
    path = tmp_path / "hospital-to-home.json"
    path.write_text(json.dumps(API_EXAMPLE))
    return path


def versions(personas):
    with tenancy.scope(personas.org):
        return list(PathwayVersion.objects.order_by("number").values_list("number", "status"))


def test_import_prints_the_new_draft_version_and_exits_zero(run, personas, api_file):
    status, out, err = run("import_pathway", str(api_file), "--org", "acme")
    assert status == 0
    assert out.splitlines()[0] == (
        "Imported hospital-to-home v1 (Hospital-to-home stabilisation) into acme as draft: "
        "3 steps (3 core), 3 time standards, 1 escalation rule."
    )
    assert versions(personas) == [(1, "draft")]


def test_import_with_activate_says_which_version_it_retired(run, personas, api_file):
    run("import_pathway", str(api_file), "--org", "acme", "--activate")
    status, out, _ = run("import_pathway", str(api_file), "--org", "acme", "--activate")
    assert status == 0
    assert "into acme as active" in out
    assert "hospital-to-home v1 retired; its cases stay on it." in out
    assert versions(personas) == [(1, "retired"), (2, "active")]


def test_an_invalid_definition_prints_every_path_and_stores_nothing(run, personas, tmp_path):
    data = example()
    data["steps"][2]["time_standards"][0]["anchor"] = "discharge"
    data["steps"][0]["kind"] = "visit"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    status, out, err = run("import_pathway", str(path), "--org", "acme")
    assert status == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        "steps[0].kind: must be one of intake, assessment, touchpoint, escalation, review, closure"
    )
    assert lines[1].startswith("steps[2].time_standards[0].anchor: must be one of referral")
    assert lines[2] == "CommandError: Definition rejected: 2 problems; nothing was stored."
    with tenancy.scope(personas.org):
        assert not Pathway.objects.exists()


def test_invalid_json_is_reported_with_its_line_and_column(run, personas, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"slug": "x",\n "steps": [}\n')
    status, _, err = run("import_pathway", str(path), "--org", "acme")
    assert status == 1
    assert err.splitlines()[0].startswith("(json): line 2, column 12:")
    assert versions(personas) == []


def test_a_missing_file_or_organisation_is_an_error(run, personas, api_file):
    status, _, err = run("import_pathway", "/nonexistent.json", "--org", "acme")
    assert (status, err.strip()) == (1, "CommandError: No such file: /nonexistent.json")
    status, _, err = run("import_pathway", str(api_file), "--org", "nope")
    assert status == 1
    assert "No organisation with slug 'nope'" in err


def test_the_import_goes_into_the_named_organisation_only(run, personas, api_file):
    run("import_pathway", str(api_file), "--org", "globex")
    assert versions(personas) == []
    with tenancy.scope(personas.other_org):
        assert PathwayVersion.objects.count() == 1


def test_export_prints_the_active_version_as_json(run, personas):
    with tenancy.scope(personas.org):
        import_version(activate=True)
        import_version(example(name="A later draft"))
    status, out, _ = run("export_pathway", "hospital-to-home", "--org", "acme")
    assert status == 0
    assert normalised(json.loads(out)) == normalised(API_EXAMPLE)


def test_export_without_an_active_version_prints_the_latest(run, personas):
    with tenancy.scope(personas.org):
        import_version()
        import_version(example(name="Latest"))
    _, out, _ = run("export_pathway", "hospital-to-home", "--org", "acme")
    assert json.loads(out)["name"] == "Latest"


def test_export_prints_the_version_asked_for(run, personas):
    with tenancy.scope(personas.org):
        import_version(activate=True)
        import_version(example(name="Second"), activate=True)
    _, out, _ = run("export_pathway", "hospital-to-home", "--org", "acme", "--version", "1")
    assert json.loads(out)["name"] == "Hospital-to-home stabilisation"


def test_export_of_an_unknown_version_or_pathway_is_an_error(run, personas):
    with tenancy.scope(personas.org):
        import_version()
    status, out, err = run("export_pathway", "hospital-to-home", "--org", "acme", "--version", "7")
    assert (status, out) == (1, "")
    assert "hospital-to-home has no version 7; it has: v1." in err
    status, _, err = run("export_pathway", "nope", "--org", "acme")
    assert status == 1
    assert "No pathway 'nope' in acme; known: hospital-to-home." in err


@pytest.mark.parametrize("name", DEMO_FILES)
def test_export_of_an_imported_file_imports_again_unchanged(personas, tmp_path, capsys, name):
    call_command("import_pathway", str(FIXTURES / name), "--org", "acme", "--activate")
    capsys.readouterr()
    slug = json.loads((FIXTURES / name).read_text())["slug"]
    call_command("export_pathway", slug, "--org", "acme")
    exported = tmp_path / "exported.json"
    exported.write_text(capsys.readouterr().out)
    call_command("import_pathway", str(exported), "--org", "acme")
    capsys.readouterr()
    call_command("export_pathway", slug, "--org", "acme", "--version", "2")
    assert json.loads(capsys.readouterr().out) == json.loads(exported.read_text())
