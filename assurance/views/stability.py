"""Stability under pressure and workforce evidence, under /o/<org>/assurance/ (DESIGN.md section
4a). Every role reads them (aggregates of the member's sites only); nothing here writes."""

from django.shortcuts import render
from django.urls import path

from assurance import reports, selectors, stability
from assurance.stability_report import (
    evidence_day,
    evidence_table,
    stability_report,
    workforce_evidence_report,
)
from assurance.views.common import dashboard_access, fmt
from assurance.views.dashboards import _base, _empty
from scaling_ops.views_common import csv_response


def _side(side: dict) -> list:
    return [fmt(side.get("rate")), fmt(side.get("low")), fmt(side.get("high")),
            fmt(side.get("numerator")), fmt(side.get("denominator")),
            " ".join(side.get("months", []))]  # fmt: skip


@dashboard_access
def stability_page(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Stability under pressure")
    settings = selectors.settings_current()
    sites = selectors.sites_for(request.membership)
    site_code = request.GET.get("site", "")
    if site_code not in {s.code for s in sites}:
        site_code = ""
    csv = request.GET.get("format") == "csv"
    report = stability_report(
        membership=request.membership, month=month, settings=settings, site_code=site_code,
        charts=not csv,
    )  # fmt: skip
    if csv:
        return csv_response(
            f"stability-{reports.month_label(month)}.csv",
            ["Month", "Site", "Measure", "Cases", "Verdict", "Rate in pressure months",
             "Pressure: 95% interval low", "Pressure: 95% interval high",
             "Pressure: numerator", "Pressure: denominator", "Pressure months",
             "Rate in other months", "Other: 95% interval low", "Other: 95% interval high",
             "Other: numerator", "Other: denominator", "Other months",
             "Difference (points)"],
            [
                [reports.month_label(month), r.site.name, r.measure_name, r.split,
                 r.verdict_label, *_side(r.pressure), *_side(r.other), fmt(r.difference)]
                for r in report.rows
            ],
        )  # fmt: skip
    return render(
        request,
        "assurance/stability.html",
        {
            "months": months,
            "month": month,
            "partial_months": selectors.partial_months_for(request.membership, months),
            "snapshots": selectors.current_snapshots(membership=request.membership, month=month),
            "report": report,
            "settings": settings,
            "sites": sites,
            "site_code": site_code,
            "reason_labels": stability.REASON_LABELS,
            "extra_params": [("site", site_code)] if site_code else [],
            "charts": report.charts,
        },
    )


@dashboard_access
def workforce_evidence_page(request, org):
    months, month = _base(request)
    if month is None:
        return _empty(request, "Workforce evidence")
    day = evidence_day(membership=request.membership, month=month)
    evidence = workforce_evidence_report(membership=request.membership, day=day)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"workforce-evidence-{day:%Y-%m-%d}.csv",
            ["Day", "Site", "Measure", "Value", "Numerator", "Denominator", "Standard"],
            [
                [f"{day:%Y-%m-%d}", item.site.name, row["label"], fmt(row["value"]),
                 fmt(row["numerator"]), fmt(row["denominator"]), row["standard"]]
                for item in evidence for row in item.rows
            ],
        )  # fmt: skip
    return render(
        request,
        "assurance/workforce_evidence.html",
        {
            "months": months,
            "month": month,
            "partial_months": selectors.partial_months_for(request.membership, months),
            "day": day,
            "evidence": evidence,
            "evidence_rows": evidence_table(evidence),
        },
    )


urlpatterns = [
    path("assurance/stability/", stability_page, name="assurance_stability"),
    path("assurance/workforce/", workforce_evidence_page, name="assurance_workforce_evidence"),
]
