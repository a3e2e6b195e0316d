"""Referral sources ranked across sites (README "The front door"): which referrers send
incomplete or ineligible referrals and what they leave out, from the month's current snapshots,
so a lead can see who needs the revised referral prompt. The cross-site review links here.
Supervisors, leads and admins: referral sources are the partner's free text, which commissioners
see only where a person published it."""

from django.contrib import messages
from django.shortcuts import render
from django.urls import path

from assurance import selectors
from assurance.front_door import referral_source_ranking
from assurance.views.common import chosen_month, records_access
from scaling_ops.views_common import csv_response


def _days(value) -> str:
    return "" if value is None else f"{value:.1f}"


@records_access
def referral_sources(request, org):
    months = selectors.snapshot_months(membership=request.membership)
    month, error = chosen_month(request, months)
    if error:
        messages.error(request, error)
    sites = selectors.sites_for(request.membership)
    rows, snapshots = [], []
    if month is not None:
        snapshots = selectors.current_snapshots(membership=request.membership, month=month)
        rows = referral_source_ranking(
            snapshot_ids=[snapshot.pk for snapshot in snapshots],
            site_names={site.pk: site.name for site in sites},
        )
    if request.GET.get("format") == "csv" and month is not None:
        return csv_response(
            f"referral-sources-{month:%Y-%m}.csv",
            [
                "Month",
                "Referral source",
                "Sites",
                "Referrals",
                "Incomplete (%)",
                "Ineligible (%)",
                "Most often missing",
                "Mean days to intake (complete referrals)",
                "Mean days to intake (incomplete referrals)",
            ],
            (
                [
                    f"{month:%Y-%m}",
                    row.source,
                    "; ".join(sorted(row.sites)),
                    row.referrals,
                    _days(row.incomplete_rate),
                    _days(row.ineligible_rate),
                    "; ".join(f"{name} ({count})" for name, count in row.top_missing),
                    _days(row.mean_days_complete),
                    _days(row.mean_days_incomplete),
                ]
                for row in rows
            ),
        )
    return render(
        request,
        "assurance/referral_sources.html",
        {
            "months": months,
            "month": month,
            "rows": rows,
            "computed_at": max((s.computed_at for s in snapshots), default=None),
            "partial_months": {},
        },
    )


urlpatterns = [
    path("assurance/referral-sources/", referral_sources, name="assurance_referral_sources"),
]
