"""Case detail under /o/<org>/cases/<external_ref>/: the case's timeline of events, its
obligations now (from the same engine as the daily report) and its exception items with their
triage history. Supervisors, implementation leads and org admins of the case's site only:
commissioners never see a case's details."""

from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from pathways import wording
from pathways.models import Step
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
    items = list(selectors.case_exception_items(case=case))
    history = list(selectors.case_exception_history(case=case)[:200])
    _in_words(case, events, obligations, items, history)
    context = {
        "case": case,
        "now": now,
        "events": events,
        "ignored": selectors.case_ignored_rows(case=case, now=now),
        "earliest_plausible": f"{EARLIEST_PLAUSIBLE:%Y-%m-%d}",
        "late_arrival_hours": int(selectors.LATE_ARRIVAL.total_seconds() // 3600),
        "obligations": obligations,
        "version_reason": case_version_reason(case),
        "items": items,
        "history": history,
    }
    return render(request, "pathways/case_detail.html", context)


def _in_words(case, events, obligations, items, history) -> None:
    """Step names from the case's pinned version, obligations in a sentence and event data as
    labelled fields (the keys stay behind each row's details)."""
    names = dict(Step.objects.filter(version_id=case.version_id).values_list("key", "name"))
    zone = case.organization.zone
    event_types = {str(e.pk): e.type for e in events}
    for o in obligations:
        local = {k: o[k] and timezone.localtime(o[k], zone) for k in ("anchor_at", "due_at")}
        o["text"] = wording.obligation_text(
            obligation_key=o["obligation_key"],
            step=o["step"],
            source=o["source"],
            anchor_at=local["anchor_at"],
            due_at=local["due_at"],
            step_names=names,
            event_types=event_types,
        )
        o["step_name"] = wording.step_name(o["step"], names)
    for e in events:
        e.fields = wording.data_fields(e.data)
        e.step_name = wording.step_name(e.step_key, names) if e.step_key else ""
    for row in [*items, *history]:
        row.step_name = wording.step_name(row.step, names)


urlpatterns = [
    path("cases/<str:external_ref>/", case_detail, name="case_detail"),
]
