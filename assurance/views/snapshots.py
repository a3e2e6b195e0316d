"""Snapshots as evidence: every revision listed, each one's figures as rows, CSV exports, and
the Recompute button (a new revision; older ones stay)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from assurance import reports, selectors
from assurance.forms import SiteMonthFilter
from assurance.models import AssuranceSnapshot
from assurance.services import month_parse
from assurance.tasks import assurance_snapshot_enqueue
from assurance.views.common import LEADS, dashboard_access, fmt, page_of, this_month
from pathways.disclosure import for_member
from pathways.selectors.versions import step_names_in_use
from pathways.wording import humanise, step_name
from scaling_ops.access import roles_required
from scaling_ops.celery import QueueUnavailable
from scaling_ops.views_common import csv_response

# The CSVs say what the pages say: measure, step and group names, not keys.
VALUE_COLUMNS = [
    "Month",
    "Site",
    "Revision",
    "Partial",
    "Measure",
    "Step",
    "Dimension",
    "Group",
    "Numerator",
    "Denominator",
    "Value",
]
FIGURE_COLUMNS = ["Measure", "Step", "Dimension", "Group", "Numerator", "Denominator", "Value"]


class _Names:
    """A stored figure's keys in words: measure and step names read once per export."""

    def __init__(self):
        self.measures = {code: m.name for code, m in selectors.metric_definitions().items()}
        self.steps = step_names_in_use()

    def figure(self, measure, step, dimension, segment) -> list[str]:
        return [
            self.measures.get(measure) or humanise(measure),
            step_name(step, self.steps) if step else "",
            reports.DIMENSION_LABELS.get(dimension) or humanise(dimension),
            humanise(segment) if segment not in ("", "all") else ("all" if segment else ""),
        ]


def _value_rows(rows, zone):
    names = _Names()
    for month, site, revision, partial, cutoff, measure, step, dimension, segment, *rest in rows:
        to = timezone.localdate(cutoff, timezone=zone) if partial else None
        label = reports.partial_label(to) if partial else ""
        yield [
            month.strftime("%Y-%m"),
            site,
            revision,
            label,
            *names.figure(measure, step, dimension, segment),
            *(fmt(v) for v in rest),
        ]


@dashboard_access
def snapshot_list(request, org):
    sites = selectors.sites_for(request.membership)
    form = SiteMonthFilter(request.GET, sites=sites)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    snapshots = selectors.snapshot_list(
        membership=request.membership, site=data.get("site", ""), month=data.get("month")
    )
    if request.GET.get("format") == "csv":
        # Every figure of the listed snapshots, every revision: the evidence as it was stored.
        months = [data["month"]] if data.get("month") else None
        rows = selectors.values_for_export(
            membership=request.membership, months=months, current_only=False
        )
        if data.get("site"):
            rows = rows.filter(snapshot__site__code=data["site"])
        return csv_response(
            "assurance-snapshots.csv", VALUE_COLUMNS, _value_rows(rows, request.organization.zone)
        )
    page, query = page_of(request, snapshots)
    for_member(list(page), request.membership)
    return render(
        request,
        "assurance/snapshot_list.html",
        {"form": form, "page": page, "query": query, "this_month": this_month(request)},
    )


class ValueFilter(forms.Form):
    measure = forms.CharField(required=False, max_length=60)
    dimension = forms.CharField(required=False, max_length=30)


@dashboard_access
def snapshot_detail(request, org, pk):
    snapshot = selectors.snapshot_for_member(membership=request.membership, pk=pk)
    if snapshot is None:
        raise Http404("No such snapshot.")
    for_member(snapshot, request.membership)
    form = ValueFilter(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    values = selectors.snapshot_values(
        snapshot=snapshot,
        measure=data.get("measure", ""),
        dimension=data.get("dimension", ""),
        membership=request.membership,
    )
    if request.GET.get("format") == "csv":
        names = _Names()
        return csv_response(
            f"assurance-{snapshot.site.code}-{snapshot.month:%Y-%m}-r{snapshot.revision}.csv",
            FIGURE_COLUMNS,
            (
                [*names.figure(v.measure, v.step, v.dimension, v.segment), fmt(v.numerator),
                 fmt(v.denominator), fmt(v.value)]
                for v in values
            ),
        )  # fmt: skip
    page, query = page_of(request, values, size=100)
    revisions = for_member(
        list(
            selectors.snapshot_list(
                membership=request.membership, site=snapshot.site.code, month=snapshot.month
            )
        ),
        request.membership,
    )
    return render(
        request,
        "assurance/snapshot_detail.html",
        {
            "snapshot": snapshot,
            "form": form,
            "page": page,
            "query": query,
            "revisions": revisions,
            "definitions": selectors.metric_definitions(),
        },
    )


REASON_MAX_LENGTH = AssuranceSnapshot._meta.get_field("reason").max_length


@require_POST
@roles_required(*LEADS)
def snapshot_recompute(request, org):
    target = reverse("assurance_snapshot_list", kwargs={"org": org})
    try:
        month = month_parse(request.POST.get("month", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(target)
    if month > this_month(request):
        messages.error(request, f"{month:%Y-%m} has not started yet; nothing to compute.")
        return redirect(target)
    reason = (request.POST.get("reason") or "").strip() or "Recomputed on request"
    if len(reason) > REASON_MAX_LENGTH:
        messages.error(
            request,
            f"The reason is {len(reason):,} characters; keep it to {REASON_MAX_LENGTH} "
            "(the snapshot stores that much). Nothing was recomputed.",
        )
        return redirect(f"{target}?month={month:%Y-%m}")
    try:
        ran_inline = assurance_snapshot_enqueue(
            organization=request.organization, month=month, by=request.user, reason=reason
        )
    except QueueUnavailable:
        messages.error(
            request,
            f"{month:%Y-%m} could not be queued: the task queue is unavailable. Nothing was "
            "changed; the snapshots shown stand. Try again in a few minutes.",
        )
        return redirect(f"{target}?month={month:%Y-%m}")
    if ran_inline:
        messages.success(
            request,
            f"{month:%Y-%m} recomputed: a new revision of each site's snapshot; the older "
            "revisions stay listed.",
        )
    else:
        messages.info(request, f"Recompute of {month:%Y-%m} queued. Reload in a minute.")
    return redirect(f"{target}?month={month:%Y-%m}")


@dashboard_access
def export_month(request, org):
    """The current figures of one month (``?month=``) or of every month, as CSV."""
    raw = request.GET.get("month", "").strip()
    months = None
    if raw:
        try:
            months = [month_parse(raw)]
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("assurance_overview", org=org)
    rows = selectors.values_for_export(membership=request.membership, months=months)
    name = f"assurance-{raw or 'all-months'}.csv"
    return csv_response(name, VALUE_COLUMNS, _value_rows(rows, request.organization.zone))


urlpatterns = [
    path("assurance/snapshots/", snapshot_list, name="assurance_snapshot_list"),
    path("assurance/snapshots/recompute/", snapshot_recompute, name="assurance_recompute"),
    path("assurance/snapshots/<int:pk>/", snapshot_detail, name="assurance_snapshot_detail"),
    path("assurance/export/", export_month, name="assurance_export"),
]
