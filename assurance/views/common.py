"""Shared pieces of the assurance views: who may do what, the month in the URL, page size and figures in CSV."""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone

from assurance import selectors
from assurance.services import month_parse
from scaling_ops import views_common
from scaling_ops.access import ALL_ROLES, LEADS, WRITE_ROLES, roles_required

# Dashboards, snapshots, exports: every role reads (aggregates only); leads recompute.
dashboard_access = roles_required(*LEADS, read_roles=ALL_ROLES)
# Audits and incidents carry case refs: commissioners may not even read them.
records_access = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
# Drift signals: everyone reads the aggregate figures; supervisors and leads respond.
drift_access = roles_required(*WRITE_ROLES, read_roles=ALL_ROLES)


def chosen_month(
    request, months: list[date], complete: date | None = None
) -> tuple[date | None, str]:
    """The ``?month=YYYY-MM`` asked for, else the newest complete month (``complete``, by
    default the newest month computed after it ended; else the newest at all), and an error to
    show. A month still running is never the default: its figures read as a verdict."""
    default = None
    if months:
        complete = complete or selectors.latest_complete_month(membership=request.membership)
        default = complete or months[0]
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
    return views_common.page_of(request, items, size=size)


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)
