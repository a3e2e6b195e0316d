"""``manage.py compute_exceptions``: the same service as the beat task, with a progress bar and a
summary; clear errors for an unknown organisation or a bad date."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from pathways.models import ExceptionReport
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    make_case,
    overdue_case,
)


@pytest.fixture
def data(personas, tenant):
    version = build_version()
    overdue_case(version, personas.north, "C-1")
    late = make_case(version, personas.south, "C-2", at(DAY - timedelta(days=2), 8))
    complete(late, "intake", at(DAY, 12))
    return version


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with tenancy.isolated():
        call_command("compute_exceptions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_prints_the_summary_by_kind(personas, data):
    out, _ = run("--org", "acme", "--date", "2026-03-02")
    assert out.startswith(
        "acme 2026-03-02: 2 exceptions in 2 cases (Overdue step 1, Late step 1, "
        "Missed escalation 0, Incomplete assessment 0, Risk tier disagreement 0, "
        "Safeguarding response missed 0); all 2 cases evaluated; computed in "
    )
    assert out.rstrip().endswith("ms")
    with tenancy.scope(personas.org):
        assert ExceptionReport.objects.get(date=DAY).item_count == 2


def test_command_draws_a_progress_bar_on_stderr(personas, data):
    _, err = run("--org", "acme", "--date", "2026-03-02")
    assert "acme 2026-03-02" in err and "2/2" in err


def test_command_computes_a_range_of_dates(personas, data):
    out, _ = run("--org", "acme", "--from", "2026-03-01", "--to", "2026-03-03", "--no-progress")
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "acme 2026-03-01",
        "acme 2026-03-02",
        "acme 2026-03-03",
    ]
    with tenancy.scope(personas.org):
        assert ExceptionReport.objects.count() == 3


def test_a_day_after_a_computed_day_says_what_it_carried_over_unless_full(personas, data):
    run("--org", "acme", "--date", "2026-03-02", "--no-progress")
    out, _ = run("--org", "acme", "--date", "2026-03-03", "--no-progress")
    assert "; built on the 2026-03-02 report; 2 changed cases evaluated again; computed" in out

    out, _ = run("--org", "acme", "--date", "2026-03-03", "--no-progress", "--full")
    assert "; all 2 cases evaluated; computed" in out
    with tenancy.scope(personas.org):
        assert not ExceptionReport.objects.get(date=DAY + timedelta(days=1)).incremental


def test_unknown_organisation_is_a_clear_error(personas, data):
    with pytest.raises(CommandError, match="No organisation with slug 'nope'; known: acme, globex"):
        run("--org", "nope", "--date", "2026-03-02")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2026-02-30"], "--date '2026-02-30' is not a date; use YYYY-MM-DD."),
        (["--date", "yesterday"], "--date 'yesterday' is not a date"),
        ([], "Give --date YYYY-MM-DD, or both --from and --to."),
        (["--from", "2026-03-01"], "Give --date YYYY-MM-DD, or both --from and --to."),
        (["--from", "2026-03-03", "--to", "2026-03-01"], "--to 2026-03-01 is before --from"),
        (["--date", "2026-03-01", "--to", "2026-03-02"], "either --date or --from/--to"),
    ],
)
def test_bad_dates_are_clear_errors(personas, data, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        run("--org", "acme", *args)
