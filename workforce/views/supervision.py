"""Supervision sessions and weekly review samples, case assignment to practitioners, and the
decisions on a case that the decision-authority matrix governs. These name cases, so
supervisors, implementation leads and org admins only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path

from pathways.models import Case
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, person_name
from workforce import selectors
from workforce.forms import AssignForm, DecisionForm, SampleForm, SessionForm
from workforce.models import CASELOAD_ROLES, StaffMember, SupervisionSession
from workforce.services import (
    case_assign,
    case_decision_record,
    review_sample_draw,
    supervision_session_record,
)
from workforce.services.supervision import week_start_of
from workforce.views.common import page_of, supervision_access


def _active_staff(request):
    return (
        StaffMember.objects.filter(site__in=visible_sites(request.membership), left_on__isnull=True)
        .select_related("site")
        .order_by("site__code", "name")
    )


@supervision_access
def supervision(request, org):
    supervisors = list(selectors.supervisors_for(membership=request.membership))
    staff = list(_active_staff(request))
    today = selectors.today_for(request.membership)
    session_form = SessionForm(
        prefix="session", supervisors=supervisors, staff=staff, initial={"held_on": today}
    )
    sample_form = SampleForm(prefix="sample", supervisors=supervisors,
                             initial={"week_start": week_start_of(today)})  # fmt: skip
    by_pk = {s.pk: s for s in staff + supervisors}
    if request.method == "POST" and "session-staff" in request.POST:
        session_form = SessionForm(
            request.POST, prefix="session", supervisors=supervisors, staff=staff
        )
        if session_form.is_valid():
            data = session_form.cleaned_data
            refs = [r.strip() for r in data["cases"].split(",") if r.strip()]
            cases = list(
                Case.objects.filter(
                    external_ref__in=refs, site__in=visible_sites(request.membership)
                )
            )
            missing = sorted(set(refs) - {c.external_ref for c in cases})
            if missing:
                session_form.add_error(
                    "cases", f"No such case in your sites: {', '.join(missing)}."
                )
            else:
                try:
                    session = supervision_session_record(
                        supervisor=by_pk[int(data["supervisor"])], staff=by_pk[int(data["staff"])],
                        held_on=data["held_on"], by=request.user, notes=data["notes"], cases=cases,
                    )  # fmt: skip
                except ValidationError as error:
                    add_form_errors(session_form, error)
                else:
                    messages.success(
                        request, f"Session with {session.staff.name} on {session.held_on} recorded."
                    )
                    return redirect("workforce_supervision", org=org)
    elif request.method == "POST":
        sample_form = SampleForm(request.POST, prefix="sample", supervisors=supervisors)
        if sample_form.is_valid():
            data = sample_form.cleaned_data
            try:
                sample = review_sample_draw(
                    supervisor=by_pk[int(data["supervisor"])], week_start=data["week_start"],
                    by=request.user, seed=data["seed"],
                )  # fmt: skip
            except ValidationError as error:
                add_form_errors(sample_form, error)
            else:
                messages.success(
                    request,
                    f"Review sample for the week of {sample.week_start}, seed {sample.seed}.",
                )
                return redirect("workforce_sample", org=org, pk=sample.pk)
    sessions = (
        SupervisionSession.objects.filter(staff__site__in=visible_sites(request.membership))
        .select_related("supervisor", "staff", "staff__site")
        .order_by("-held_on", "-pk")
    )
    page, query = page_of(request, sessions)
    return render(
        request,
        "workforce/supervision.html",
        {
            "session_form": session_form,
            "sample_form": sample_form,
            "page": page,
            "query": query,
            "samples": selectors.review_samples(membership=request.membership)[:20],
        },
    )


@supervision_access
def review_sample(request, org, pk):
    sample = selectors.review_sample_for_member(membership=request.membership, pk=pk)
    if sample is None:
        raise Http404("No such review sample.")
    cases = sample.cases.select_related("case", "case__site").order_by("position")
    return render(request, "workforce/sample.html", {"sample": sample, "cases": cases})


@supervision_access
def assignments(request, org):
    practitioners = list(_active_staff(request).filter(role__in=CASELOAD_ROLES))
    form = AssignForm(request.POST or None, practitioners=practitioners)
    if request.method == "POST" and form.is_valid():
        case = selectors.case_for_member(
            membership=request.membership, ref=form.cleaned_data["case"]
        )
        practitioner = next(
            p for p in practitioners if str(p.pk) == form.cleaned_data["practitioner"]
        )
        if case is None:
            form.add_error("case", "No such case in your sites.")
        else:
            try:
                case_assign(case=case, practitioner=practitioner, by=request.user)
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, f"{case.external_ref} assigned to {practitioner.name}.")
                return redirect("workforce_assignments", org=org)
    site = request.GET.get("site", "")
    rows = selectors.assignments(membership=request.membership, site=site,
                                 practitioner=request.GET.get("practitioner", ""))  # fmt: skip
    if request.GET.get("format") == "csv":
        return csv_response(
            "case-assignments.csv",
            ["Case", "Site", "Practitioner", "Assigned", "Assigned by"],
            ([a.case.external_ref, a.case.site.name, a.practitioner.name, a.assigned_at.isoformat(),
              person_name(a.assigned_by)] for a in rows),
        )  # fmt: skip
    page, query = page_of(request, rows)
    return render(
        request,
        "workforce/assignments.html",
        {"form": form, "page": page, "query": query, "practitioners": practitioners,
         "sites": selectors.sites_for(request.membership), "site": site},
    )  # fmt: skip


@supervision_access
def case_workforce(request, org, ref):
    case = selectors.case_for_member(membership=request.membership, ref=ref)
    if case is None:
        raise Http404("No such case.")
    form = DecisionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            decision = case_decision_record(case=case, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"{decision.get_decision_display()} recorded.")
            return redirect("workforce_case", org=org, ref=ref)
    return render(
        request,
        "workforce/case.html",
        {"case": case, "form": form, **selectors.case_workforce(case=case)},
    )


urlpatterns = [
    path("workforce/supervision/", supervision, name="workforce_supervision"),
    path("workforce/samples/<int:pk>/", review_sample, name="workforce_sample"),
    path("workforce/assignments/", assignments, name="workforce_assignments"),
    path("workforce/cases/<str:ref>/", case_workforce, name="workforce_case"),
]
