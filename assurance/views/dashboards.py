"""Dashboards under /o/<org>/assurance/: network overview and site comparison, run charts with
control limits, equity, drift, outcomes against comparators, and the printable monthly pack.
Aggregates only, over the member's visible sites; every role may read them."""

from collections import defaultdict

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from assurance import analysis, charts, reports, selectors
from assurance.forms import DriftResponseForm
from assurance.models import DriftSignal
from assurance.services import (
    STANDARD_RESPONSE,
    drift_signal_respond,
    improvement_action_providers,
    improvement_action_raise,
)
from assurance.services.metrics import PROCESS_MEASURES, month_add
from assurance.stability_report import pack_pressure_context
from assurance.views.common import chosen_month, dashboard_access, drift_access, fmt, page_of
from pathways.disclosure import each_for_member, for_member, history_for_member
from pathways.wording import humanise
from scaling_ops.charts import MEDIAN_COLOUR, site_colour
from scaling_ops.forms import site_choices
from scaling_ops.views_common import add_form_errors, csv_response

RUN_CHART_MEASURES = (*PROCESS_MEASURES, "audit_score", "adverse_outcome_rate")


def _base(request):
    months = selectors.snapshot_months(membership=request.membership)
    month, error = chosen_month(request, months)
    if error:
        messages.error(request, error)
    return months, month


def _empty(request, template_title: str):
    return render(
        request,
        "assurance/empty.html",
        {"page_title": template_title, "can_compute": not request.membership.is_read_only},
    )


@dashboard_access
def overview(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Assurance")
    settings = selectors.settings_current()
    report = reports.month_report(membership=request.membership, month=month, settings=settings)
    signals = for_member(
        list(
            selectors.drift_signals(membership=request.membership, status="active").filter(
                month=month
            )
        ),
        request.membership,
    )
    return render(
        request,
        "assurance/overview.html",
        {
            "months": months,
            "month": month,
            "partial_months": selectors.partial_months_for(request.membership, months),
            "report": report,
            "signals": signals,
            "settings": settings,
            "charts": [c for c in (report.charts.get(k) for k in ("comparison", "incidents")) if c],
        },
    )


class RunChartFilter(forms.Form):
    measure = forms.ChoiceField(required=False)
    step = forms.CharField(required=False, max_length=80)
    months = forms.TypedChoiceField(
        required=False,
        coerce=int,
        initial=12,
        choices=[(12, "12 months"), (6, "6 months"), (24, "24 months")],
    )

    def __init__(self, *args, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = [
            (code, definitions[code].name if code in definitions else code)
            for code in RUN_CHART_MEASURES
        ]


@dashboard_access
def run_charts(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Run charts")
    if not request.GET.get("month"):
        month = months[0]  # a run chart runs up to the month to date
    definitions = selectors.metric_definitions()
    form = RunChartFilter(request.GET, definitions=definitions)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    measure = data.get("measure") or "timeliness"
    step = (data.get("step") or "").strip()
    window = reports.history_months(month, data.get("months") or 12)
    figures = selectors.figures(
        membership=request.membership, months=window, measures=[measure], steps=[step]
    )
    by_site = defaultdict(dict)
    for row in figures:
        by_site[row.site_id][row.month] = row
    partial = selectors.partial_months_for(request.membership, window)
    panels = []
    name = definitions[measure].name if measure in definitions else measure
    for site in selectors.sites_for(request.membership):
        series = by_site.get(site.pk)
        if not series:
            continue
        points = [
            (
                reports.month_label(m)
                + (f", {reports.partial_label(partial[m])}" if m in partial else ""),
                series[m].numerator if m in series else 0.0,
                (series[m].denominator or 0.0) if m in series else 0.0,
            )
            for m in window
            if m >= min(series)
        ]
        centre, control = analysis.p_chart(points)
        panels.append(
            {
                "site": site,
                "centre": centre,
                "points": control,
                "chart": charts.run_chart(
                    f"chart-run-{site.code}",
                    f"{site.name}: {name}{' · ' + step if step else ''}",
                    centre,
                    control,
                ),
            }
        )
    return render(
        request,
        "assurance/run_charts.html",
        {
            "months": months,
            "month": month,
            "form": form,
            "measure": measure,
            "measure_name": name,
            "step": step,
            "panels": panels,
            "charts": [p["chart"] for p in panels],
        },
    )


class EquityFilter(forms.Form):
    site = forms.ChoiceField(required=False)
    measure = forms.ChoiceField(required=False)
    dimension = forms.ChoiceField(
        required=False, choices=[("", "Every dimension"), *reports.DIMENSION_LABELS.items()]
    )
    flagged = forms.BooleanField(required=False, label="Flagged only")

    def __init__(self, *args, sites, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites)
        self.fields["measure"].choices = [("", "Every measure")] + [
            (code, definitions[code].name if code in definitions else code)
            for code in reports.EQUITY_MEASURES
        ]


def _yes_no(value) -> str:
    return "yes" if value else "no"


def _measure_name(definitions: dict, code: str) -> str:
    definition = definitions.get(code)
    return definition.name if definition else humanise(code)


def equity_legend(segment: str, size: float | None) -> str:
    """A legend entry with the group's size in the month shown: "rural (n=14)"."""
    name = "overall" if segment == "all" else segment
    return f"{name} (n={size:,.0f})" if size is not None else name


@dashboard_access
def equity(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Equity")
    settings = selectors.settings_current()
    definitions = selectors.metric_definitions()
    sites = selectors.sites_for(request.membership)
    form = EquityFilter(request.GET, sites=sites, definitions=definitions)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    chosen_sites = [s for s in sites if not data.get("site") or s.code == data["site"]]
    measures = [data["measure"]] if data.get("measure") else list(reports.EQUITY_MEASURES)
    history = max(settings.equity_widening_months + 1, 6)
    rows = reports.equity_rows(
        membership=request.membership,
        sites=chosen_sites,
        month=month,
        settings=settings,
        definitions=definitions,
        measures=measures,
    )
    if data.get("dimension"):
        rows = [r for r in rows if r.finding.dimension == data["dimension"]]
    if data.get("flagged"):
        rows = [r for r in rows if r.finding.flagged]
    if request.GET.get("format") == "csv":
        return csv_response(
            f"equity-{reports.month_label(month)}.csv",
            ["Month", "Site", "Measure", "Dimension", "Group", "Value", "Overall",
             "Gap (points)", "Denominator", "Below the margin", "Widening"],
            [
                [reports.month_label(month), r.site.name, r.measure_name, r.dimension_label,
                 humanise(r.finding.segment), fmt(r.finding.value), fmt(r.finding.overall),
                 fmt(r.finding.gap), fmt(r.finding.denominator), _yes_no(r.finding.below_margin),
                 _yes_no(r.finding.widening)]
                for r in rows
            ],
        )  # fmt: skip
    chart_list = []
    flagged = [r for r in rows if r.finding.flagged]
    window = reports.history_months(month, history)
    # The flagged groups' trends; with nothing flagged, the first group's, so the page always
    # shows how gaps move over the months.
    for index, row in enumerate(flagged[:6] or rows[:1]):
        series = selectors.figures(
            membership=request.membership,
            months=window,
            measures=[row.measure],
            steps=[""],
            dimensions=["all", row.finding.dimension],
            site_ids=[row.site.pk],
        )
        values = defaultdict(dict)
        sizes: dict[str, float] = {}
        for f in sorted(series, key=lambda f: f.month):
            values[f.segment][f.month] = f.value
            if f.month <= month:  # the group's size in the month shown (or its latest before)
                sizes[f.segment] = f.denominator or 0
        shown = [m for m in window if m >= min((f.month for f in series), default=month)]
        labels = [reports.month_label(m) for m in shown]
        chart_list.append(
            charts.lines(
                f"chart-equity-{index}",
                f"{row.site.name}: {row.measure_name} by {row.dimension_label.lower()}",
                labels,
                {
                    equity_legend(segment, sizes.get(segment)): [by_month.get(m) for m in shown]
                    for segment, by_month in sorted(values.items())
                },
            )
        )
    return render(
        request,
        "assurance/equity.html",
        {
            "months": months,
            "month": month,
            "form": form,
            "rows": rows,
            "flagged_count": len(flagged),
            "settings": settings,
            "charts": chart_list,
        },
    )


class DriftFilter(forms.Form):
    site = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("active", "Not withdrawn"), ("", "All"), *DriftSignal.Status.choices],
    )
    measure = forms.ChoiceField(required=False)

    def __init__(self, *args, sites, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites)
        self.fields["measure"].choices = [("", "Every process measure")] + [
            (code, definitions[code].name if code in definitions else code)
            for code in PROCESS_MEASURES
        ]


@drift_access
def drift_list(request, org):
    definitions = selectors.metric_definitions()
    sites = selectors.sites_for(request.membership)
    params = request.GET.copy()
    params.setdefault("status", "active")
    form = DriftFilter(params, sites=sites, definitions=definitions)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    signals = selectors.drift_signals(
        membership=request.membership,
        site=data.get("site", ""),
        status=data.get("status", "active"),
        measure=data.get("measure", ""),
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            "drift-signals.csv",
            ["Month", "Site", "Measure", "Compared with", "Value", "Reference", "Margin",
             "Denominator", "Status", "Coaching", "Extra supervision", "Re-audit from",
             "Re-audit until", "Recovery", "Re-audit value", "Improvement action"],
            [
                [s.month.strftime("%Y-%m"), s.site.name, _measure_name(definitions, s.measure),
                 s.get_basis_display(), fmt(s.value), fmt(s.reference), fmt(s.margin),
                 fmt(s.denominator), s.get_status_display(), s.coaching, s.extra_supervision,
                 s.reaudit_from, s.reaudit_until, s.get_recovery_display(),
                 fmt(s.reaudit_value), s.improvement_action_ref]
                for s in each_for_member(signals, request.membership)
            ],
        )  # fmt: skip
    page, query = page_of(request, signals)
    for_member(list(page), request.membership)
    measure = data.get("measure") or "timeliness"
    chart = _drift_chart(request, sites, measure, definitions)
    return render(
        request,
        "assurance/drift_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "standard_response": STANDARD_RESPONSE,
            "definitions": definitions,
            "charts": [chart] if chart else [],
        },
    )


def _drift_chart(request, sites, measure, definitions):
    months = selectors.snapshot_months(membership=request.membership)[:12]
    if not months:
        return None
    window = sorted(months)
    rows = selectors.figures(membership=request.membership, months=window, measures=[measure])
    values = defaultdict(dict)
    for row in rows:
        values[row.site_id][row.month] = row
    settings = selectors.settings_current()
    series = {}
    medians = []
    for m in window:
        present = [
            values[s.pk][m].value
            for s in sites
            if m in values[s.pk] and (values[s.pk][m].denominator or 0) >= settings.min_denominator
        ]
        medians.append(analysis.network_median(present))
    for site in sites:
        if values.get(site.pk):
            series[site.name] = [
                values[site.pk][m].value if m in values[site.pk] else None for m in window
            ]
    series["Network median (sites shown)"] = medians
    name = definitions[measure].name if measure in definitions else measure
    partial = selectors.partial_months_for(request.membership, window)
    labels = [
        reports.month_label(m) + (f", {reports.partial_label(partial[m])}" if m in partial else "")
        for m in window
    ]
    colours = {site.name: site_colour(site) for site in sites}
    colours["Network median (sites shown)"] = MEDIAN_COLOUR
    return charts.lines("chart-drift", f"{name} by site", labels, series, colours=colours)


@drift_access
def drift_detail(request, org, pk):
    signal = selectors.drift_signal_for_member(membership=request.membership, pk=pk)
    if signal is None:
        raise Http404("No such drift signal.")
    for_member(signal, request.membership)
    initial = {
        "coaching": signal.coaching,
        "extra_supervision": signal.extra_supervision,
        "reaudit_until": signal.reaudit_until,
        "status": signal.status,
        "improvement_action_ref": signal.improvement_action_ref,
    }
    form = DriftResponseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            drift_signal_respond(signal=signal, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Response recorded.")
            return redirect("assurance_drift_detail", org=org, pk=pk)
    history = history_for_member(
        signal.history.select_related("history_user").order_by("-history_date")[:50],
        signal,
        request.membership,
    )
    return render(
        request,
        "assurance/drift_detail.html",
        {
            "signal": signal,
            "form": form,
            "history": history,
            "standard_response": STANDARD_RESPONSE,
            "definitions": selectors.metric_definitions(),
            "learning_installed": bool(improvement_action_providers.providers()),
            **_response_context(signal, request.organization),
        },
    )


def _response_context(signal, organization) -> dict:
    from assurance.services.drift_response import (
        drift_response_late,
        drift_response_parts,
        drift_response_ran,
    )

    today = timezone.localdate(timezone=organization.zone)
    parts = drift_response_parts(signal=signal)
    return {
        "response_parts": [(part, part.state(today)) for part in parts],
        "response_ran": drift_response_ran(parts),
        "responded_late": drift_response_late(parts, today),
    }


@require_POST
@drift_access
def drift_raise_action(request, org, pk):
    signal = selectors.drift_signal_for_member(membership=request.membership, pk=pk)
    if signal is None:
        raise Http404("No such drift signal.")
    try:
        reference = improvement_action_raise(source=signal, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Improvement action {reference} raised.")
    return redirect("assurance_drift_detail", org=org, pk=pk)


@dashboard_access
def outcomes(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Outcomes")
    report = reports.month_report(
        membership=request.membership,
        month=month,
        settings=selectors.settings_current(),
        parts=("outcomes",),
    )
    return render(
        request,
        "assurance/outcomes.html",
        {
            "months": months,
            "month": month,
            "partial_months": selectors.partial_months_for(request.membership, months),
            "report": report,
            "charts": [
                c for c in (report.charts.get(k) for k in ("comparators", "attribution")) if c
            ],
        },
    )


@dashboard_access
def pack(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Monthly assurance pack")
    settings = selectors.settings_current()
    report = reports.month_report(membership=request.membership, month=month, settings=settings)
    signals = for_member(
        list(
            selectors.drift_signals(membership=request.membership, status="active").filter(
                month=month
            )
        ),
        request.membership,
    )
    reaudits = for_member(
        list(
            selectors.drift_signals(membership=request.membership, status="active").filter(
                reaudit_until__gte=month, reaudit_until__lt=month_add(month, 1)
            )
        ),
        request.membership,
    )
    pressure = pack_pressure_context(request.membership, month, settings)  # section 4a
    return render(
        request,
        "assurance/pack.html",
        {
            "months": months,
            "month": month,
            "partial_months": selectors.partial_months_for(request.membership, months),
            "report": report,
            "signals": signals,
            "reaudits": reaudits,
            "settings": settings,
            "charts": [
                c
                for c in (
                    report.charts.get(k)
                    for k in ("comparison", "incidents", "comparators", "attribution")
                )
                if c
            ]
            + pressure["stability"].charts,
            **pressure,
        },
    )


urlpatterns = [
    path("assurance/", overview, name="assurance_overview"),
    path("assurance/run-charts/", run_charts, name="assurance_run_charts"),
    path("assurance/equity/", equity, name="assurance_equity"),
    path("assurance/drift/", drift_list, name="assurance_drift_list"),
    path("assurance/drift/<int:pk>/", drift_detail, name="assurance_drift_detail"),
    path(
        "assurance/drift/<int:pk>/improvement-action/",
        drift_raise_action,
        name="assurance_drift_action",
    ),
    path("assurance/outcomes/", outcomes, name="assurance_outcomes"),
    path("assurance/pack/", pack, name="assurance_pack"),
]
