"""The supervisor exception queue under /o/<org>/exceptions/: the day's report for the member's
sites, grouped for a huddle, with in-place (htmx) triage, bulk actions, CSV and Recompute.

Supervisors, implementation leads and org admins only: commissioners never see case refs, so
they get 403 here even to read."""

from dataclasses import replace
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from pathways import assignees as assignee_directory
from pathways import queue_panels
from pathways.models import ExceptionItem, ExceptionKind
from pathways.selectors import exceptions as selectors
from pathways.services import exception_triage as triage_services
from pathways.tasks import exception_report_enqueue
from scaling_ops.access import WRITE_ROLES, roles_required
from scaling_ops.celery import QueueUnavailable
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import csv_response

QUEUE_ROLES = WRITE_ROLES
queue_access = roles_required(*QUEUE_ROLES, read_roles=QUEUE_ROLES)
CSV_COLUMNS = [
    "report_date",
    "site",
    "case",
    "step",
    "kind",
    "due_at",
    "completed_at",
    "age_days",
    "status",
    "assigned_to",
    "note",
    "first_reported_on",
]


class QueueFilterForm(forms.Form):
    # One format, the one the date picker sends and _requested_date reads: a hand-typed
    # 15/11/2026 is named as wrong instead of being read as another day or silently dropped.
    date = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-15. "
            "The latest report is shown until then."
        },
    )
    site = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *ExceptionKind.choices])
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Needs action (open or assigned)"),
            ("all", "All statuses"),
            *ExceptionItem.Status.choices,
        ],
    )
    step = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    age = forms.ChoiceField(
        required=False,
        label="Age since due",
        choices=[("", "Any age")] + [(k, v[0]) for k, v in selectors.AGE_BUCKETS.items()],
    )

    def __init__(self, *args, sites, steps, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All my sites")] + [(s.code, s.name) for s in sites]
        self.fields["step"].choices = [("", "All steps")] + [(s, s) for s in steps]
        groups: dict[str, list] = {}
        for person in assignees:
            groups.setdefault(person.group, []).append((person.key, person.name))
        self.fields["assignee"].choices = [("", "Anyone"), ("none", "Unassigned")] + list(
            groups.items()
        )

    def filters(self) -> selectors.QueueFilters:
        self.is_valid()  # invalid fields are left out of cleaned_data and so not applied
        data = getattr(self, "cleaned_data", {})
        return selectors.QueueFilters(
            **{name: data.get(name) or "" for name in selectors.QueueFilters.__annotations__}
        )


def _requested_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _with_age(lines, report, zone):
    for line in lines:
        line.age_days = selectors.exception_age_days(report=report, since=line.since, zone=zone)
    return lines


def _with_assignees(lines, people):
    """Each row's assignee picker: the people who may take its site's exceptions, with the
    case's practitioner (where an app above pathways knows one) chosen unless already assigned."""
    owners = assignee_directory.case_owner_keys({line.item.case_id for line in lines})
    for line in lines:
        item = line.item
        line.assignee_options = [person for person in people if person.takes(item.site_id)]
        line.case_owner = owners.get(item.case_id, "")
        line.suggested_assignee = item.assignee_key or line.case_owner
    return lines


def _scope_label(sites, site_code: str) -> str:
    if site_code:
        return next((s.name for s in sites if s.code == site_code), site_code)
    return ", ".join(s.name for s in sites) or "your sites"


def _yesterday(request) -> date:
    return timezone.localdate(timezone=request.organization.zone) - timedelta(days=1)


@queue_access
def exception_queue(request, org):
    membership = request.membership
    wanted = _requested_date(request.GET.get("date"))
    report = selectors.exception_report_get(date=wanted)
    sites = list(visible_sites(membership).order_by("code"))
    steps = selectors.exception_queue_steps(membership=membership, report=report) if report else []
    assignees = assignee_directory.assignees_for_sites(site.pk for site in sites)
    form = QueueFilterForm(request.GET, sites=sites, steps=steps, assignees=assignees)
    filters = form.filters()
    zone = request.organization.zone
    context = {
        "form": form,
        "report": report,
        "day": report.date if report else (wanted or _yesterday(request)),
        "filters": filters,
        "narrowed": any(
            [filters.kind, filters.status, filters.step, filters.assignee, filters.age]
        ),
        "scope": _scope_label(sites, filters.site),
        "assignees": assignees,
        "next": request.get_full_path(),
        "queue_panels": queue_panels.panels_for(request, membership, sites),
    }
    if report is not None:
        lines = selectors.exception_queue_lines(
            membership=membership, report=report, filters=filters
        )
        if request.GET.get("format") == "csv":
            return _csv(lines, report, zone)
        page = Paginator(lines, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        if not page.paginator.count and not filters.status:
            context["closed_count"] = selectors.exception_queue_lines(
                membership=membership, report=report, filters=replace(filters, status="all")
            ).count()
        context.update(
            page=page,
            rows=_with_assignees(_with_age(list(page.object_list), report, zone), assignees),
            summary=_summary(selectors.exception_queue_summary(lines), report, zone),
            query=query.urlencode(),
        )
    return render(request, "pathways/exception_queue.html", context)


def _summary(rows, report, zone):
    labels = dict(ExceptionKind.choices)
    for row in rows:
        row["kind_label"] = labels.get(row["line_kind"], row["line_kind"])
        row["oldest_age"] = selectors.exception_age_days(
            report=report, since=row["oldest"], zone=zone
        )
    return rows


def _csv(lines, report, zone) -> HttpResponse:
    return csv_response(
        f"exceptions-{report.date}.csv",
        CSV_COLUMNS,
        (_csv_row(line, report, zone) for line in lines.iterator(chunk_size=2000)),
    )


def _csv_row(line, report, zone) -> list:
    item = line.item
    return [
        report.date.isoformat(),
        item.site.code,
        item.case.external_ref,
        item.step,
        line.kind,
        line.due_at.isoformat() if line.due_at else "",
        line.completed_at.isoformat() if line.completed_at else "",
        selectors.exception_age_days(report=report, since=line.since, zone=zone),
        item.status,
        item.assignee_name,
        item.note,
        item.first_reported_on.isoformat(),
    ]


def _next_url(request) -> str:
    target = request.POST.get("next") or ""
    if target.startswith(f"/o/{request.organization.slug}/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("exception_queue", kwargs={"org": request.organization.slug})


def _item_or_404(request, pk: int) -> ExceptionItem:
    item = selectors.exception_item_for_member(membership=request.membership, pk=pk)
    if item is None:
        raise Http404("No such exception.")
    return item


def _row(request, item, error: str = "") -> HttpResponse:
    line = selectors.exception_item_line(item=item, report_id=request.POST.get("report"))
    _with_age([line], line.report, request.organization.zone)
    _with_assignees([line], assignee_directory.assignees_for_sites([item.site_id]))
    context = {"line": line, "error": error, "next": _next_url(request)}
    return render(request, "pathways/exception_row.html", context)


def _act(request, item: ExceptionItem, action) -> HttpResponse:
    """Runs ``action`` (which returns what was done, for the message) and answers htmx with the
    redrawn row, a plain form post with a redirect and a message."""
    try:
        done = action()
    except ValidationError as error:
        message = " ".join(error.messages)
        if request.htmx:
            return _row(request, item, error=message)
        messages.error(request, f"{item.case.external_ref} {item.step}: {message}")
        return redirect(_next_url(request))
    if request.htmx:
        return _row(request, item)
    messages.success(request, f"{item.case.external_ref} {item.step}: {done}")
    return redirect(_next_url(request))


@require_POST
@queue_access
def exception_assign(request, org, pk):
    item = _item_or_404(request, pk)

    def action():
        triage_services.exception_item_assign(
            item=item, by=request.user, assignee=request.POST.get("assignee", "")
        )
        return f"assigned to {item.assignee_name}."

    return _act(request, item, action)


@require_POST
@queue_access
def exception_resolve(request, org, pk):
    item = _item_or_404(request, pk)

    def action():
        triage_services.exception_item_resolve(
            item=item, by=request.user, note=request.POST.get("note")
        )
        return "resolved."

    return _act(request, item, action)


@require_POST
@queue_access
def exception_accept(request, org, pk):
    item = _item_or_404(request, pk)

    def action():
        triage_services.exception_item_accept(
            item=item, by=request.user, reason=request.POST.get("reason")
        )
        return "accepted with a reason."

    return _act(request, item, action)


@require_POST
@queue_access
def exception_bulk(request, org):
    raw = request.POST.getlist("items")
    if not raw:
        messages.error(request, "Select at least one exception, then choose what to do.")
        return redirect(_next_url(request))
    try:
        pks = {int(value) for value in raw}
    except ValueError:
        raise Http404("No such exception.") from None
    items = list(selectors.exception_items_for_member(membership=request.membership, pks=pks))
    if len(items) != len(pks):
        raise Http404("No such exception.")
    action = request.POST.get("action")
    note = request.POST.get("note", "")
    try:
        if action == "assign":
            key = request.POST.get("assignee", "")
            changed, skipped = triage_services.exception_items_bulk_assign(
                items=items, by=request.user, assignee=key
            )
            name = next((i.assignee_name for i in items if i.assignee_key == key), key)
            done = f"assigned to {name}"
        elif action == "resolve":
            changed, skipped = triage_services.exception_items_bulk_resolve(
                items=items, by=request.user, note=note
            )
            done = "resolved"
        elif action == "accept":
            changed, skipped = triage_services.exception_items_bulk_accept(
                items=items, by=request.user, reason=note
            )
            done = "accepted with a reason"
        else:
            raise ValidationError("Choose assign, resolve or accept.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_next_url(request))
    text = f"{changed} exception{'s' if changed != 1 else ''} {done}."
    if skipped:
        text += f" {skipped} already closed left as they were."
    messages.success(request, text)
    return redirect(_next_url(request))


@require_POST
@queue_access
def exception_recompute(request, org):
    latest = _yesterday(request)
    day = _requested_date(request.POST.get("date")) or latest
    queue = reverse("exception_queue", kwargs={"org": org})
    if day > latest:
        messages.error(
            request,
            f"A day's report can be computed once the day has ended; the latest is {latest}.",
        )
        return redirect(queue)
    try:
        ran_inline = exception_report_enqueue(organization=request.organization, date=day)
    except QueueUnavailable:
        messages.error(
            request,
            f"The report for {day} could not be queued: the task queue is unavailable. Nothing "
            "was changed; the report shown is the last one computed. Try again in a few minutes.",
        )
        return redirect(f"{queue}?date={day.isoformat()}")
    if ran_inline:
        report = selectors.exception_report_get(date=day)
        messages.success(
            request,
            f"Report for {day} recomputed now: {report.item_count} exceptions in "
            f"{report.case_count} cases ({report.duration_ms} ms).",
        )
    else:
        messages.info(
            request,
            f"Recompute of {day} queued. Reload in a minute: the page shows when it was computed.",
        )
    return redirect(f"{queue}?date={day.isoformat()}")


@queue_access
def exception_detail(request, org, pk):
    item = _item_or_404(request, pk)
    context = {
        "item": item,
        "history": selectors.exception_item_history(item=item)[:100],
        "lines": item.lines.select_related("report").order_by("-report__date")[:60],
    }
    if request.htmx:
        return render(request, "pathways/exception_history.html", context)
    return render(request, "pathways/exception_detail.html", context)


urlpatterns = [
    path("exceptions/", exception_queue, name="exception_queue"),
    path("exceptions/recompute/", exception_recompute, name="exception_recompute"),
    path("exceptions/bulk/", exception_bulk, name="exception_bulk"),
    path("exceptions/<int:pk>/", exception_detail, name="exception_detail"),
    path("exceptions/<int:pk>/assign/", exception_assign, name="exception_assign"),
    path("exceptions/<int:pk>/resolve/", exception_resolve, name="exception_resolve"),
    path("exceptions/<int:pk>/accept/", exception_accept, name="exception_accept"),
]
