"""Shared definitions and thresholds: metric definitions, comparator baselines (form and CSV),
and the organisation's assurance settings. Everyone reads; org admins and leads change them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from assurance import selectors
from assurance.forms import BaselineForm, BaselineImportForm, SettingsForm
from assurance.services import (
    assurance_settings_get,
    assurance_settings_update,
    baseline_save,
    baselines_import_csv,
)
from assurance.services.comparators import CSV_HEADER, RISK_TIERS
from assurance.views.common import LEADS, dashboard_access, fmt, page_of
from scaling_ops.access import roles_required, site_for_member
from scaling_ops.views_common import add_form_errors, csv_response


@dashboard_access
def metric_list(request, org):
    definitions = list(selectors.metric_definitions().values())
    if request.GET.get("format") == "csv":
        return csv_response(
            "metric-definitions.csv",
            ["Measure", "Numerator", "Denominator", "Unit", "Direction", "Process measure"],
            (
                [
                    m.name,
                    m.numerator,
                    m.denominator,
                    m.get_unit_display(),
                    m.get_direction_display(),
                    "yes" if m.process else "no",
                ]
                for m in definitions
            ),
        )
    return render(request, "assurance/metric_list.html", {"definitions": definitions})


def _baseline_rows(baselines):
    for baseline in baselines:
        for rate in baseline.rates.all():
            yield [
                baseline.name,
                baseline.kind,
                baseline.site.code if baseline.site else "",
                baseline.period,
                baseline.source,
                rate.risk_tier,
                fmt(rate.rate),
                rate.population,
            ]


@dashboard_access
def baseline_list(request, org):
    baselines = selectors.baselines()
    if request.GET.get("format") == "csv":
        return csv_response("comparator-baselines.csv", CSV_HEADER, _baseline_rows(baselines))
    sites = selectors.sites_for(request.membership)
    form = BaselineForm(request.POST or None, sites=sites, initial={"active": True})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            baseline = baseline_save(
                name=data["name"],
                kind=data["kind"],
                site=site_for_member(request, data["site"]) if data["site"] else None,
                period=data["period"],
                source=data["source"],
                active=data["active"],
                rates={t: (data[f"rate_{t}"], data[f"population_{t}"]) for t in RISK_TIERS},
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request,
                f"Baseline {baseline.name} saved; it is used from the next computed snapshot.",
            )
            return redirect("assurance_baseline_list", org=org)
    page, query = page_of(request, baselines)
    return render(
        request,
        "assurance/baseline_list.html",
        {"page": page, "query": query, "form": form, "import_form": BaselineImportForm()},
    )


@require_POST
@roles_required(*LEADS)
def baseline_import(request, org):
    form = BaselineImportForm(request.POST, request.FILES)
    if form.is_valid():
        raw = form.cleaned_data["file"].read()
        try:
            saved = baselines_import_csv(text=raw.decode("utf-8"), by=request.user)
        except UnicodeDecodeError:
            messages.error(request, "The file is not UTF-8 text; save it as CSV (UTF-8).")
        except ValidationError as error:
            messages.error(request, "Nothing imported: " + "; ".join(error.messages))
        else:
            messages.success(request, f"{len(saved)} baselines imported.")
    else:
        messages.error(request, "Choose a CSV file to import.")
    return redirect("assurance_baseline_list", org=org)


@dashboard_access
def settings_view(request, org):
    current = selectors.settings_current()
    form = SettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            assurance_settings_get()
            assurance_settings_update(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Settings saved; they apply from the next computed snapshot.")
            return redirect("assurance_settings", org=org)
    history = []
    if current.pk:
        history = current.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request, "assurance/settings.html", {"form": form, "settings": current, "history": history}
    )


urlpatterns = [
    path("assurance/metrics/", metric_list, name="assurance_metric_list"),
    path("assurance/baselines/", baseline_list, name="assurance_baseline_list"),
    path("assurance/baselines/import/", baseline_import, name="assurance_baseline_import"),
    path("assurance/settings/", settings_view, name="assurance_settings"),
]
