"""Small helpers every app's views share: form errors from a service, pagination that keeps the
filters, CSV answers."""

import csv

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse


def add_form_errors(form, error: ValidationError) -> None:
    """Shows a service's ``ValidationError`` on the form: on its field where the form has one,
    else as a form-wide error."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def page_of(request, items, *, size: int):
    """The ``?page=`` asked for, and the query string of the other parameters (without
    ``format``) for the page links."""
    page = Paginator(items, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()


def person_name(user) -> str:
    """How pages, CSVs and histories name a person: the full name, else the username; "" for
    nobody (a system change or a deleted account)."""
    if user is None:
        return ""
    return user.get_full_name().strip() or user.get_username()


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


# A spreadsheet reads a cell starting with one of these as a formula (tab and carriage return
# too: some programs strip them and read what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A cell a spreadsheet shows as text, never runs: text starting like a formula gets a
    leading ``'``. Numbers stay numbers: a negative number is written from a number (never from
    text a person or partner typed) and a spreadsheet reads ``-3.5`` as minus 3.5, not a formula,
    so prefixing it would turn every negative figure into text that no longer sums."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """The one way a CSV is answered. Written whole inside the request: the tenant scope ends
    when the view returns, so a streamed body could not query any more."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([csv_cell(name) for name in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response
