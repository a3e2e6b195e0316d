"""Who may do what on the workforce pages, and small shared helpers."""

import csv

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse

from scaling_ops.access import WRITE_ROLES, roles_required
from scaling_ops.models import Role

LEADS = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD})
# Staff, teams, standards and training modules: leads change them; supervisors read.
workforce_access = roles_required(*LEADS, read_roles=WRITE_ROLES)
# Supervision, training sign-off, case assignment, triage of workforce exceptions.
supervision_access = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
# Launch readiness is the implementation leads' (and org admins') work.
readiness_access = roles_required(*LEADS, read_roles=LEADS)


def add_form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


def page_of(request, items, size: int = 50):
    page = Paginator(items, size).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return page, query.urlencode()


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response
