"""The front door of the supervisor queue: referrals held because they are incomplete,
ineligible or not assessable (a section of the exception queue, registered into
``queue_panels``), and the action that accepts one with a reason. Supervisors, implementation
leads and org admins only; commissioners never see case refs."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from pathways.models import Case
from pathways.selectors.front_door import front_door_rows
from pathways.services.referrals import ACCEPT_REASON_LENGTH, referral_accept
from scaling_ops.access import WRITE_ROLES, roles_required
from scaling_ops.selectors import visible_sites

front_door_access = roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)


def front_door_panel(request, membership, sites) -> dict | None:
    """The queue's "Front door" section for ``sites`` (narrowed by the queue's site filter)."""
    if membership.role not in WRITE_ROLES:
        return None
    code = request.GET.get("site")
    shown = [site for site in sites if site.code == code] if code else list(sites)
    rows, total = front_door_rows(sites=shown or sites)
    if not rows:
        return None  # nothing held: no empty section (and one query for the whole panel)
    return {
        "template": "pathways/_front_door_panel.html",
        "rows": rows,
        "total": total,
        "reason_length": ACCEPT_REASON_LENGTH,
        "next": request.get_full_path(),
    }


@require_POST
@front_door_access
def front_door_accept(request, org, pk):
    case = Case.objects.filter(pk=pk, site__in=visible_sites(request.membership)).first()
    if case is None:
        raise Http404("No such referral.")
    try:
        referral_accept(
            case=case, reason=request.POST.get("reason", ""), by=request.user, now=timezone.now()
        )
    except ValidationError as error:
        messages.error(request, f"{case.external_ref}: {' '.join(error.messages)}")
    else:
        messages.success(
            request, f"Referral {case.external_ref} accepted as it is; it has left the front door."
        )
    return redirect(reverse("exception_queue", kwargs={"org": org}) + "#front-door")


urlpatterns = [
    path("front-door/<int:pk>/accept/", front_door_accept, name="front_door_accept"),
]

__all__ = ["front_door_panel", "urlpatterns"]
