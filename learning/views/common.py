"""Shared pieces of the learning views: who may do what, and their page size."""

from learning.selectors import PAGE_SIZE
from scaling_ops import views_common
from scaling_ops.access import ALL_ROLES, LEADS, WRITE_ROLES, roles_required
from scaling_ops.models import Membership

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


def page_of(request, items, size: int = PAGE_SIZE):
    return views_common.page_of(request, items, size=size)
