"""Shared pieces of the learning views: who may do what, pagination, CSV answers."""

import csv

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse

from learning.selectors import PAGE_SIZE
from scaling_ops.access import ALL_ROLES, WRITE_ROLES, roles_required
from scaling_ops.models import Membership, Role

LEADS = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD})
# Everyone reads (commissioners: aggregates, no case refs); supervisors and leads write.
log_access = roles_required(*WRITE_ROLES, read_roles=ALL_ROLES)
# Reviews, proposals and settings are decided by leads; everyone reads.
lead_access = roles_required(*LEADS, read_roles=ALL_ROLES)
# Pages that only write (forms for new records).
write_only = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
lead_only = roles_required(*LEADS, read_roles=LEADS)


def is_lead(request) -> bool:
    return request.membership.role in LEADS


def can_write(request) -> bool:
    return request.membership.role in WRITE_ROLES


def owners():
    return list(
        Membership.objects.filter(role__in=WRITE_ROLES)
        .select_related("user")
        .order_by("user__username")
    )


def add_form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def page_of(request, items, size: int = PAGE_SIZE):
    page = Paginator(items, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """Written whole inside the request: the tenant scope ends when the view returns."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"
