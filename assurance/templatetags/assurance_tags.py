from django import template

from assurance import reports
from scaling_ops.models import Role

register = template.Library()


@register.filter
def pct(value, digits: int = 1) -> str:
    """12.345 -> "12.3%"; None -> "—"."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{digits}f}%"


@register.filter
def num(value, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    return f"{float(value):,.{digits}f}"


@register.filter
def points(value) -> str:
    """A signed difference in percentage points."""
    if value is None:
        return "—"
    return f"{float(value):+.1f} pts"


@register.filter
def get(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def is_lead(membership) -> bool:
    return membership is not None and membership.role in (
        Role.ORG_ADMIN,
        Role.IMPLEMENTATION_LEAD,
    )


@register.filter
def month_title(month, partial=None) -> str:
    return reports.month_title(month, partial)


@register.filter
def partial_label(to) -> str:
    return reports.partial_label(to)
