"""A site's escalation rate over a span of days under /o/<org>/exceptions/escalations/: the
escalation obligations due in it, each raised in time, late or not at all, and the rate. The
coaching agenda's escalation rate links here for its week.

Case refs are listed, so, like the queue, supervisors, leads and org admins only."""

from datetime import date, timedelta

from django import forms
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from pathways.selectors.escalations import escalation_rate
from pathways.site_figures import step_label, step_names
from scaling_ops.forms import PlausibleDateField
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import csv_response, page_of, wants_csv

from .exceptions import queue_access

MAX_DAYS = 31
EARLIEST = date(2000, 1, 1)


class EscalationFilter(forms.Form):
    site = forms.ChoiceField()
    start = PlausibleDateField(
        label="From", input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-15."},
    )  # fmt: skip
    end = PlausibleDateField(
        label="To", input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-21."},
    )  # fmt: skip

    def __init__(self, *args, sites, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]
        self.today = today

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and start < EARLIEST:
            self.add_error("start", f"Give a date after {EARLIEST:%Y}.")
        if end and end > self.today:
            self.add_error("end", "Give a day up to today: later escalations are not due yet.")
        if start and end and end < start:
            self.add_error("end", "The last day comes on or after the first.")
        elif start and end and (end - start).days >= MAX_DAYS:
            self.add_error("end", f"Choose at most {MAX_DAYS} days.")
        return data


def _rate_csv(rate, names, *, site, zone):
    def when(value):
        return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M") if value else ""

    return csv_response(
        f"escalations-{site.code}-{rate.start}-{rate.end}.csv",
        ["Case", "Escalation rule", "Due", "Raised", "Status"],
        (
            [row["case_ref"], step_label(row["rule"], names), when(row["due_at"]),
             when(row["raised_at"]), row["status_words"]]
            for row in rate.rows
        ),
    )  # fmt: skip


@queue_access
def escalation_rate_page(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    today = timezone.localdate(timezone=request.organization.zone)
    yesterday = today - timedelta(days=1)
    # ``from`` and ``to`` in the address (a link from the coaching agenda), start/end in the form.
    query = {
        "site": request.GET.get("site") or (sites[0].code if sites else ""),
        "start": request.GET.get("from") or str(yesterday - timedelta(days=6)),
        "end": request.GET.get("to") or str(yesterday),
    }
    form = EscalationFilter(query, sites=sites, today=today)
    rate, page, links, status = None, None, "", 200
    if form.is_valid():
        data = form.cleaned_data
        site = next(s for s in sites if s.code == data["site"])
        rate = escalation_rate(
            site=site, start=data["start"], end=data["end"], organization=request.organization
        )
        names = step_names()
        if wants_csv(request):
            return _rate_csv(rate, names, site=site, zone=request.organization.zone)
        page, links = page_of(request, rate.rows, size=50)
        for row in page.object_list:
            row["rule_words"] = step_label(row["rule"], names)
    else:
        status = 400
    return render(
        request,
        "pathways/escalation_rate.html",
        {"form": form, "rate": rate, "page": page, "query": links, "values": query,
         "sites": sites, "computed_at": timezone.now(),
         "site_name": dict(form.fields["site"].choices).get(query["site"], "")},
        status=status,
    )  # fmt: skip


urlpatterns = [
    path("exceptions/escalations/", escalation_rate_page, name="exception_escalation_rate"),
]
