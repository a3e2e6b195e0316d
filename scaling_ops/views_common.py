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


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """Written whole inside the request: the tenant scope ends when the view returns, so a
    streamed body could not query any more."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
