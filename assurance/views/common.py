"""Shared pieces of the assurance views: who may do what, the month in the URL, CSV answers."""

import csv
from datetime import date

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils import timezone

from assurance import selectors
from assurance.services import month_parse
from scaling_ops.access import ALL_ROLES, WRITE_ROLES, roles_required
from scaling_ops.models import Role

LEADS = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD})
# Dashboards, snapshots, exports: every role reads (aggregates only); leads recompute.
dashboard_access = roles_required(*LEADS, read_roles=ALL_ROLES)
# Audits and incidents carry case refs: commissioners may not even read them.
records_access = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
# Drift signals: everyone reads the aggregate figures; supervisors and leads respond.
drift_access = roles_required(*WRITE_ROLES, read_roles=ALL_ROLES)


def add_form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def chosen_month(request, months: list[date]) -> tuple[date | None, str]:
    """The ``?month=YYYY-MM`` asked for, else the newest month computed after it ended (else
    the newest at all), and an error to show."""
    default = None
    if months:
        default = selectors.latest_complete_month(membership=request.membership) or months[0]
    raw = request.GET.get("month", "").strip()
    if raw:
        try:
            return month_parse(raw), ""
        except ValidationError as error:
            return default, " ".join(error.messages)
    return default, ""


def this_month(request) -> date:
    return timezone.localdate(timezone=request.organization.zone).replace(day=1)


def page_of(request, items, size: int = selectors.PAGE_SIZE):
    page = Paginator(items, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """Written whole inside the request: the tenant scope ends when the view returns, so a
    streamed body could not query any more."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
