"""Who may do what on the workforce pages, and their page size."""

from scaling_ops import views_common
from scaling_ops.access import LEADS, WRITE_ROLES, roles_required

# Staff, teams, standards and training modules: leads change them; supervisors read.
workforce_access = roles_required(*LEADS, read_roles=WRITE_ROLES)
# Supervision, training sign-off, case assignment, triage of workforce exceptions.
supervision_access = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
# Launch readiness is the implementation leads' (and org admins') work.
readiness_access = roles_required(*LEADS, read_roles=LEADS)


def page_of(request, items, size: int = 50):
    return views_common.page_of(request, items, size=size)
