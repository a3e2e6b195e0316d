"""Caseload for supervisors and leads: per practitioner at the member's sites, open cases at the
end of today and at the end of each of the last weeks, against the workforce standard's maximum
(DESIGN.md section 4a). Read-only; a fixed number of queries however many practitioners."""

from django.shortcuts import render
from django.urls import path

from scaling_ops.views_common import csv_response
from workforce import selectors
from workforce.models import StaffMember
from workforce.pressure import caseload_days, practitioner_caseloads
from workforce.views.common import supervision_access


@supervision_access
def caseload(request, org):
    sites = selectors.sites_for(request.membership)
    site_code = request.GET.get("site", "")
    chosen = [s for s in sites if not site_code or s.code == site_code]
    today = selectors.today_for(request.membership)
    days = caseload_days(today)
    loads = practitioner_caseloads(
        site_ids=[s.pk for s in chosen], days=days, zone=request.organization.zone
    )
    staff = {
        s.pk: s for s in StaffMember.objects.filter(pk__in=loads).select_related("site", "team")
    }
    rows = sorted(
        (
            {
                "staff": staff[pk],
                "now": load["cases"][-1],
                "trend": load["cases"],
                "change": load["cases"][-1] - load["cases"][0],
                "limit": load["limit"],
                "above": load["cases"][-1] > load["limit"],
                "peak": max(load["cases"]),
            }
            for pk, load in loads.items()
            if pk in staff
        ),
        key=lambda r: (r["staff"].site.code, -r["now"], r["staff"].name),
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            f"caseload-{today:%Y-%m-%d}.csv",
            ["Site", "Practitioner", "Team", "Open cases today", "Maximum", "Above the maximum",
             *[f"Open cases {d:%Y-%m-%d}" for d in days]],
            [
                [r["staff"].site.name, r["staff"].name,
                 r["staff"].team.name if r["staff"].team else "", r["now"], r["limit"],
                 "yes" if r["above"] else "no", *r["trend"]]
                for r in rows
            ],
        )  # fmt: skip
    return render(
        request,
        "workforce/caseload.html",
        {
            "rows": rows,
            "days": days,
            "today": today,
            "sites": sites,
            "site_code": site_code,
            "above_count": sum(r["above"] for r in rows),
        },
    )


urlpatterns = [path("workforce/caseload/", caseload, name="workforce_caseload")]
