"""Record audits and incidents: they name cases, so supervisors, implementation leads and org
admins only (commissioners get 403 even to read; they see the aggregates on the dashboards)."""

from datetime import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from assurance import selectors
from assurance.forms import (
    AuditDrawForm,
    AuditRecordForm,
    IncidentForm,
    IncidentReviewForm,
    SiteMonthFilter,
)
from assurance.models import Incident
from assurance.services import (
    audit_record_save,
    audit_sample_draw,
    improvement_action_providers,
    improvement_action_raise,
    incident_create,
    incident_review,
    month_parse,
)
from assurance.services.records import known_step_keys
from assurance.views.common import page_of, records_access
from pathways.selectors.versions import step_choices, step_names_in_use
from pathways.wording import step_name
from scaling_ops.access import site_for_member
from scaling_ops.forms import site_choices
from scaling_ops.views_common import add_form_errors, csv_response, person_name


@records_access
def audit_list(request, org):
    sites = selectors.sites_for(request.membership)
    form = SiteMonthFilter(request.GET, sites=sites)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    samples = selectors.audit_samples(
        membership=request.membership, site=data.get("site", ""), month=data.get("month")
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            "audit-samples.csv",
            ["Month", "Site", "Kind", "Seed", "Sample size", "Population", "Audited", "Drawn",
             "Drawn by"],
            (
                [s.month.strftime("%Y-%m"), s.site.name, s.get_kind_display(), s.seed, s.size,
                 s.population, s.done_count or 0, s.drawn_at.isoformat(), person_name(s.drawn_by)]
                for s in samples
            ),
        )  # fmt: skip
    draw = AuditDrawForm(
        request.POST or None,
        sites=sites,
        initial={"month": timezone.localdate(timezone=request.organization.zone).strftime("%Y-%m")},
    )
    if request.method == "POST" and draw.is_valid():
        clean = draw.cleaned_data
        try:
            sample = audit_sample_draw(
                site=site_for_member(request, clean["site"]),
                month=month_parse(clean["month"]),
                by=request.user,
                seed=clean["seed"],
                size=clean["size"],
                kind=clean["kind"],
            )
        except ValidationError as error:
            add_form_errors(draw, error)
        else:
            messages.success(
                request,
                f"Sample drawn: {sample.records.count()} of {sample.population} cases, seed "
                f"{sample.seed}.",
            )
            return redirect("assurance_audit_detail", org=org, pk=sample.pk)
    page, query = page_of(request, samples)
    return render(
        request,
        "assurance/audit_list.html",
        {"form": form, "draw": draw, "page": page, "query": query},
    )


@records_access
def audit_detail(request, org, pk):
    sample = selectors.audit_sample_for_member(membership=request.membership, pk=pk)
    if sample is None:
        raise Http404("No such audit sample.")
    records = list(sample.records.all())
    scored = [r.score for r in records if r.is_done and r.score is not None]
    return render(
        request,
        "assurance/audit_detail.html",
        {
            "sample": sample,
            "records": records,
            "done": sum(r.is_done for r in records),
            "mean_score": sum(scored) / len(scored) if scored else None,
        },
    )


@records_access
def audit_record(request, org, pk):
    record = selectors.audit_record_for_member(membership=request.membership, pk=pk)
    if record is None:
        raise Http404("No such audit record.")
    initial = {name: getattr(record, name) for name in (*record.QUESTIONS, "notes")}
    form = AuditRecordForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            audit_record_save(record=record, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Audit of {record.case.external_ref} saved.")
            return redirect("assurance_audit_detail", org=org, pk=record.sample_id)
    return render(request, "assurance/audit_record.html", {"record": record, "form": form})


class IncidentFilter(forms.Form):
    site = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Incident.Kind.choices])
    severity = forms.ChoiceField(
        required=False, choices=[("", "Any severity"), *Incident.Severity.choices]
    )
    review_status = forms.ChoiceField(
        required=False, choices=[("", "Any review status"), *Incident.Review.choices]
    )
    step = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites)
        self.fields["step"].choices = [("", "Any step"), *steps]


@records_access
def incident_list(request, org):
    sites = selectors.sites_for(request.membership)
    steps = step_choices(known_step_keys())
    form = IncidentFilter(request.GET, sites=sites, steps=steps)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    found = selectors.incidents(
        membership=request.membership,
        **{
            name: data.get(name, "")
            for name in ("site", "kind", "severity", "review_status", "step")
        },
    )
    zone = request.organization.zone
    if request.GET.get("format") == "csv":
        step_names = step_names_in_use()
        return csv_response(
            "incidents.csv",
            ["Occurred", "Site", "Kind", "Severity", "Summary", "Steps that failed", "Case",
             "Review", "Review outcome", "Improvement action"],
            (
                [timezone.localtime(i.occurred_at, zone).isoformat(), i.site.name,
                 i.get_kind_display(), i.get_severity_display(), i.summary,
                 "; ".join(step_name(key, step_names) for key in i.failed_steps),
                 i.case.external_ref if i.case else "", i.get_review_status_display(),
                 i.review_outcome, i.improvement_action_ref]
                for i in found
            ),
        )  # fmt: skip
    create = IncidentForm(request.POST or None, sites=sites, steps=steps)
    if request.method == "POST" and create.is_valid():
        clean = create.cleaned_data
        occurred_at = clean["occurred_at"]
        if isinstance(occurred_at, datetime) and timezone.is_naive(occurred_at):
            occurred_at = timezone.make_aware(occurred_at, zone)
        try:
            incident = incident_create(
                site=site_for_member(request, clean["site"]),
                kind=clean["kind"],
                category=clean["category"] or Incident.Category.GENERAL,
                severity=clean["severity"],
                occurred_at=occurred_at,
                summary=clean["summary"],
                failed_steps=clean["failed_steps"],
                description=clean["description"],
                case_ref=clean["case_ref"],
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(create, error)
        else:
            messages.success(request, f"{incident.get_kind_display()} recorded.")
            return redirect("assurance_incident_detail", org=org, pk=incident.pk)
    page, query = page_of(request, found)
    return render(
        request,
        "assurance/incident_list.html",
        {"form": form, "create": create, "page": page, "query": query},
    )


@records_access
def incident_detail(request, org, pk):
    incident = selectors.incident_for_member(membership=request.membership, pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    form = IncidentReviewForm(
        request.POST or None,
        steps=step_choices(known_step_keys()),
        initial={
            "review_status": incident.review_status,
            "review_outcome": incident.review_outcome,
            "failed_steps": incident.failed_steps,
            "improvement_action_ref": incident.improvement_action_ref,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            incident_review(incident=incident, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Review saved.")
            return redirect("assurance_incident_detail", org=org, pk=pk)
    history = incident.history.select_related("history_user").order_by("-history_date")[:50]
    return render(
        request,
        "assurance/incident_detail.html",
        {
            "incident": incident,
            "form": form,
            "history": history,
            "learning_installed": bool(improvement_action_providers.providers()),
        },
    )


@require_POST
@records_access
def incident_raise_action(request, org, pk):
    incident = selectors.incident_for_member(membership=request.membership, pk=pk)
    if incident is None:
        raise Http404("No such incident.")
    try:
        reference = improvement_action_raise(source=incident, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Improvement action {reference} raised.")
    return redirect("assurance_incident_detail", org=org, pk=pk)


urlpatterns = [
    path("assurance/audits/", audit_list, name="assurance_audit_list"),
    path("assurance/audits/<int:pk>/", audit_detail, name="assurance_audit_detail"),
    path("assurance/audits/records/<int:pk>/", audit_record, name="assurance_audit_record"),
    path("assurance/incidents/", incident_list, name="assurance_incident_list"),
    path("assurance/incidents/<int:pk>/", incident_detail, name="assurance_incident_detail"),
    path(
        "assurance/incidents/<int:pk>/improvement-action/",
        incident_raise_action,
        name="assurance_incident_action",
    ),
]
