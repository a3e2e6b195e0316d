"""Change proposals: list (filters, CSV), new proposal, and the life-cycle on its page: pilot at
named sites → evaluate against the other sites → adopt (a new draft pathway version with the
rationale) or reject (the reason kept)."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path

from learning import disclosure, selectors
from learning.forms import EvaluateForm, PilotForm, ProposalFilter, ProposalForm, ReasonForm
from learning.models import ChangeProposal
from learning.services import (
    change_proposal_adopt,
    change_proposal_create,
    change_proposal_evaluate,
    change_proposal_reject,
    change_proposal_start_pilot,
)
from learning.services.proposals import proposal_changes, proposal_step_name
from learning.views.common import is_lead, lead_access, lead_only, page_of
from pathways.models import Pathway
from pathways.selectors.versions import step_names_in_use
from pathways.wording import step_name
from scaling_ops.access import site_for_member
from scaling_ops.models import Site
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, wants_csv

Status = ChangeProposal.Status


@lead_access
def proposal_list(request, org):
    pathways = list(Pathway.objects.order_by("name"))
    form = ProposalFilter(request.GET, pathways=pathways)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    found = selectors.proposals(status=data.get("status", ""), pathway=data.get("pathway", ""))
    if wants_csv(request):
        step_names = step_names_in_use()
        site_names = dict(Site.objects.values_list("code", "name"))
        return csv_response(
            "change-proposals.csv",
            ["Reference", "Title", "Pathway", "Base version", "Kind of change", "Step", "Status",
             "Pilot sites", "Pilot start", "Pilot end", "Evaluation", "Decision reason",
             "Adopted version"],
            (
                [p.reference, p.title, p.pathway.name,
                 p.base_version.number if p.base_version else "", p.get_change_kind_display(),
                 step_name(p.step_key, step_names) if p.step_key else "",
                 p.get_status_display(), ", ".join(site_names.get(code, code) for code in p.evaluation.get("pilot_sites", [])),
                 p.pilot_start.isoformat() if p.pilot_start else "",
                 p.pilot_end.isoformat() if p.pilot_end else "",
                 selectors.evaluation_summary_for_member(
                     proposal=p, membership=request.membership),
                 p.decision_reason, p.adopted_version.number if p.adopted_version else ""]
                for p in disclosure.each_for_member(found, request.membership)
            ),
        )  # fmt: skip
    page, query = page_of(request, found)
    disclosure.for_member(list(page), request.membership)
    return render(
        request,
        "learning/proposal_list.html",
        {"form": form, "page": page, "query": query, "is_lead": is_lead(request)},
    )


@lead_only
def proposal_new(request, org):
    pathways = list(Pathway.objects.order_by("name"))
    sites = list(visible_sites(request.membership).order_by("code"))
    initial = {
        key: request.GET.get(key, "")
        for key in ("pathway", "title", "step_key", "evidence", "change_kind", "origin_site")
    }
    initial["measures"] = ["timeliness"]
    form = ProposalForm(
        request.POST or None,
        pathways=pathways,
        sites=sites,
        measures=selectors.measure_choices(),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        pathway = next(p for p in pathways if p.slug == data["pathway"])
        definition = None
        if data["definition"].strip():
            try:
                definition = json.loads(data["definition"])
            except json.JSONDecodeError as error:
                form.add_error(
                    "definition", f"Line {error.lineno}, column {error.colno}: {error.msg}"
                )
        if not form.errors:
            try:
                proposal = change_proposal_create(
                    pathway=pathway,
                    title=data["title"],
                    change_kind=data["change_kind"],
                    step_key=data["step_key"].strip(),
                    change=data["change"],
                    rationale=data["rationale"],
                    evidence=data["evidence"],
                    measures=data["measures"],
                    origin_site=site_for_member(request, data["origin_site"])
                    if data["origin_site"]
                    else None,
                    definition=definition,
                    by=request.user,
                )
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, f"Change proposal {proposal.reference} recorded.")
                return redirect("learning_proposal_detail", org=org, number=proposal.number)
    return render(request, "learning/proposal_new.html", {"form": form})


def _proposal_or_404(number: int) -> ChangeProposal:
    proposal = selectors.proposal_get(number=number)
    if proposal is None:
        raise Http404("No such change proposal.")
    return proposal


@lead_access
def proposal_detail(request, org, number):
    proposal = _proposal_or_404(number)
    sites = list(visible_sites(request.membership).order_by("code"))
    today = selectors.organization_today()
    forms = {
        "pilot": PilotForm(sites=sites, initial={"start": today}),
        "evaluate": EvaluateForm(),
        "adopt": ReasonForm(prefix="adopt"),
        "reject": ReasonForm(prefix="reject"),
    }
    if request.method == "POST":
        step = request.POST.get("form", "")
        try:
            if step == "pilot":
                form = forms["pilot"] = PilotForm(request.POST, sites=sites)
                if form.is_valid():
                    change_proposal_start_pilot(
                        proposal=proposal,
                        by=request.user,
                        sites=[site_for_member(request, c) for c in form.cleaned_data["sites"]],
                        start=form.cleaned_data["start"],
                        end=form.cleaned_data["end"],
                    )
                    messages.success(request, f"{proposal.reference} is piloting.")
                    return redirect("learning_proposal_detail", org=org, number=number)
            elif step == "evaluate":
                form = forms["evaluate"] = EvaluateForm(request.POST)
                if form.is_valid():
                    change_proposal_evaluate(
                        proposal=proposal, by=request.user, summary=form.cleaned_data["summary"]
                    )
                    messages.success(request, f"{proposal.reference} evaluated.")
                    return redirect("learning_proposal_detail", org=org, number=number)
            elif step == "adopt":
                form = forms["adopt"] = ReasonForm(request.POST, prefix="adopt")
                if form.is_valid():
                    version = change_proposal_adopt(
                        proposal=proposal, by=request.user, reason=form.cleaned_data["reason"]
                    )
                    messages.success(
                        request,
                        f"{proposal.reference} adopted: v{version.number} is active network-wide."
                        if version.status == version.Status.ACTIVE
                        else f"{proposal.reference} adopted: {version} is a new draft carrying "
                        "the rationale; an org admin activates it on its page.",
                    )
                    return redirect("learning_proposal_detail", org=org, number=number)
            elif step == "reject":
                form = forms["reject"] = ReasonForm(request.POST, prefix="reject")
                if form.is_valid():
                    change_proposal_reject(
                        proposal=proposal, by=request.user, reason=form.cleaned_data["reason"]
                    )
                    messages.success(request, f"{proposal.reference} rejected; the reason is kept.")
                    return redirect("learning_proposal_detail", org=org, number=number)
            else:
                raise Http404("Unknown step.")
        except ValidationError as error:
            add_form_errors(form, error)
    disclosure.for_member(proposal, request.membership)
    return render(
        request,
        "learning/proposal_detail.html",
        {
            "proposal": proposal,
            "changes": proposal_changes(proposal),
            "evaluation": selectors.evaluation_for_member(
                evaluation=proposal.evaluation, membership=request.membership
            ),
            "evaluation_summary": selectors.evaluation_summary_for_member(
                proposal=proposal, membership=request.membership
            ),
            "pilot_sites": list(proposal.pilot_sites.order_by("code")),
            "step_name": proposal_step_name(proposal) if proposal.step_key else "",
            "measure_names": [
                info["name"] for info in selectors.measure_info(proposal.measures).values()
            ],
            "forms": forms,
            "is_lead": is_lead(request),
            "history": disclosure.history_for_member(
                selectors.history_of(proposal), proposal, request.membership
            ),
            "can_publish": is_lead(request),
            "definition_json": json.dumps(proposal.definition, indent=2),
        },
        status=400 if any(f.errors for f in forms.values()) else 200,
    )


urlpatterns = [
    path("learning/proposals/", proposal_list, name="learning_proposal_list"),
    path("learning/proposals/new/", proposal_new, name="learning_proposal_new"),
    path("learning/proposals/<int:number>/", proposal_detail, name="learning_proposal_detail"),
]
