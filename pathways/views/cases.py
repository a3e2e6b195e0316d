"""Case detail under /o/<org>/cases/<external_ref>/: the case's timeline of events, its
obligations now (from the same engine as the daily report) and its exception items with their
triage history. Supervisors, implementation leads and org admins of the case's site only:
commissioners never see a case's details."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from pathways.plausible_time import EARLIEST_PLAUSIBLE
from pathways.selectors import exceptions as selectors
from pathways.selectors.routing import case_version_reason
from scaling_ops.access import WRITE_ROLES, roles_required


@roles_required(*WRITE_ROLES, read_roles=WRITE_ROLES)
def case_detail(request, org, external_ref):
    case = selectors.case_for_member(membership=request.membership, external_ref=external_ref)
    if case is None:
        raise Http404("No such case.")
    now = timezone.now()
    events = selectors.case_timeline(case=case, now=now)
    obligations = selectors.case_obligations(case=case, at=now)
    context = {
        "case": case,
        "now": now,
        "events": events,
        "ignored": selectors.case_ignored_rows(case=case, now=now),
        "earliest_plausible": f"{EARLIEST_PLAUSIBLE:%Y-%m-%d}",
        "late_arrival_hours": int(selectors.LATE_ARRIVAL.total_seconds() // 3600),
        "obligations": obligations,
        "version_reason": case_version_reason(case),
        "items": selectors.case_exception_items(case=case),
        "history": selectors.case_exception_history(case=case)[:200],
    }
    return render(request, "pathways/case_detail.html", context)


urlpatterns = [
    path("cases/<str:external_ref>/", case_detail, name="case_detail"),
]
