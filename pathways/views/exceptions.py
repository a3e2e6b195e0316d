"""The supervisor exception queue under /o/<org>/exceptions/: the day's report for the member's
sites, grouped for a huddle, with in-place (htmx) triage, bulk actions, CSV and Recompute.

Supervisors, implementation leads and org admins only: commissioners never see case refs, so
they get 403 here even to read."""

from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from pathways import assignees as assignee_directory
from pathways import queue_panels
from pathways.fast_select import FastSelect
from pathways.models import ExceptionItem, ExceptionKind
from pathways.queue_rows import (
    assignee_options_html,
    filter_fields_html,
    queue_row_html,
    queue_rows_html,
    queue_summary_html,
)
from pathways.selectors import exceptions as selectors
from pathways.selectors import queue_page
from pathways.services import exception_triage as triage_services
from pathways.services import queue_preferences
from pathways.tasks import exception_report_enqueue
from scaling_ops.access import WRITE_ROLES, roles_required
from scaling_ops.celery import QueueUnavailable
from scaling_ops.forms import PlausibleDateField
from scaling_ops.selectors import visible_site_list
from scaling_ops.views_common import csv_response

QUEUE_ROLES = WRITE_ROLES
queue_access = roles_required(*QUEUE_ROLES, read_roles=QUEUE_ROLES)
# The CSV says what the page says: names and sentences, not keys.
CSV_COLUMNS = [
    "Report date",
    "Site",
    "Case",
    "Step",
    "Exception",
    "Due",
    "Completed",
    "Age (days since due)",
    "Status",
    "Assigned to",
    "Note",
    "First reported",
]
# The filter fields remembered per person (QueuePreference); never the date or a page.
STICKY = ("site", "kind", "status", "step", "assignee", "age")
PAGING = ("after", "before", "last")
KIND_LABELS = dict(ExceptionKind.choices)
STATUS_LABELS = dict(ExceptionItem.Status.choices)


class QueueFilterForm(forms.Form):
    # One format, the one the date picker sends and _requested_date reads: a hand-typed
    # 15/11/2026 is named as wrong instead of being read as another day or silently dropped.
    date = PlausibleDateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-15. "
            "The latest report is shown until then."
        },
    )
    site = forms.ChoiceField(required=False, widget=FastSelect)
    kind = forms.ChoiceField(
        required=False, choices=[("", "All kinds"), *ExceptionKind.choices], widget=FastSelect
    )
    status = forms.ChoiceField(
        required=False,
        widget=FastSelect,
        choices=[
            ("", "Needs action (open or assigned)"),
            ("all", "All statuses"),
            *ExceptionItem.Status.choices,
        ],
    )
    step = forms.ChoiceField(required=False, widget=FastSelect)
    assignee = forms.ChoiceField(required=False, widget=FastSelect)
    age = forms.ChoiceField(
        required=False,
        widget=FastSelect,
        label="Age since due",
        choices=[("", "Any age")] + [(k, v[0]) for k, v in selectors.AGE_BUCKETS.items()],
    )

    def __init__(self, *args, sites, steps, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All my sites")] + [(s.code, s.name) for s in sites]
        self.fields["step"].choices = [("", "All steps")] + list(steps)
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


def _line_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _with_age(lines, report, zone):
    for line in lines:
        line.age_days = selectors.exception_age_days(report=report, since=line.since, zone=zone)
    return lines


def _with_words(lines, step_names, site_names=None):
    """Each row's step in words (and its site's name for the group heading)."""
    for line in lines:
        line.step_name = step_names.get(line.item.step, line.item.step)
        if site_names is not None:
            line.site_name = site_names.get(line.site_id, "")
    return lines


def _scope_label(sites, site_code: str) -> str:
    if site_code:
        return next((s.name for s in sites if s.code == site_code), site_code)
    return ", ".join(s.name for s in sites) or "your sites"


def _yesterday(request) -> date:
    return timezone.localdate(timezone=request.organization.zone) - timedelta(days=1)


def _queue_params(request):
    """The query the page is drawn from: the request's own when it names a filter field (the
    form always sends them all, empty for "any"), and the person's choice is remembered; else
    the filters they last chose here (a link from the menu or the home page). ``?reset=1``
    forgets them. Returns (params, whether remembered filters were applied)."""
    params = request.GET.copy()
    if params.pop("reset", None):
        queue_preferences.queue_preference_set(user=request.user, query="")
        return params, False
    if any(name in params for name in STICKY):
        chosen = QueryDict(mutable=True)
        for name in STICKY:
            if params.get(name):
                chosen[name] = params[name]
        if chosen.urlencode() != selectors.queue_preference_query(user=request.user):
            queue_preferences.queue_preference_set(user=request.user, query=chosen.urlencode())
        return params, False
    remembered = selectors.queue_preference_query(user=request.user)
    if not remembered:
        return params, False
    params.update(QueryDict(remembered))
    return params, True


@queue_access
def exception_queue(request, org):
    membership = request.membership
    params, remembered = _queue_params(request)
    wanted = _requested_date(params.get("date"))
    report = selectors.exception_report_get(date=wanted)
    sites = visible_site_list(membership)
    site_ids = {site.pk for site in sites}
    if remembered and params.get("site") and params["site"] not in {s.code for s in sites}:
        # A remembered site the person may no longer open: dropped quietly, and forgotten.
        params.pop("site")
        kept = QueryDict(selectors.queue_preference_query(user=request.user), mutable=True)
        kept.pop("site", None)
        queue_preferences.queue_preference_set(user=request.user, query=kept.urlencode())
    step_names = selectors.exception_report_step_names(report=report)
    steps = selectors.exception_queue_steps(report=report, site_ids=site_ids) if report else []
    assignees = assignee_directory.assignees_for_sites(site_ids)
    form = QueueFilterForm(
        params,
        sites=sites,
        steps=[(step, step_names.get(step, step)) for step in steps],
        assignees=assignees,
    )
    filters = form.filters()
    zone = request.organization.zone
    query = params.copy()
    for name in (*PAGING, "format", "page", "show"):
        query.pop(name, None)
    context = {
        "form": form,
        "filter_fields_html": filter_fields_html(form),
        "report": report,
        "day": report.date if report else (wanted or _yesterday(request)),
        "filters": filters,
        "remembered": remembered,
        "dated": wanted is not None,
        "narrowed": any(
            [filters.kind, filters.status, filters.step, filters.assignee, filters.age]
        ),
        "scope": _scope_label(sites, filters.site),
        "status_label": dict(form.fields["status"].choices).get(filters.status, ""),
        "assignees": assignees,
        "bulk_assignee_options": assignee_options_html(assignees),
        "next": request.get_full_path(),
        "queue_panels": queue_panels.panels_for(request, membership, sites),
        "query": query.urlencode(),
        "item_base": reverse("exception_queue", kwargs={"org": org}),
        # Row links are built from these prefixes: 50 rows would otherwise reverse a URL
        # several times each.
        "case_base": reverse("case_detail", kwargs={"org": org, "external_ref": "~"})[:-2],
        "site_names": {site.pk: site.name for site in sites},
        "site_codes": {site.pk: site.code for site in sites},
    }
    if report is None:
        context["counts"] = selectors.open_exception_counts(
            membership=membership, report=None, site_ids=site_ids
        )
        return render(request, "pathways/exception_queue.html", context)
    counts = selectors.open_exception_counts(
        membership=membership, report=report, site_ids=site_ids
    )
    context["counts"] = counts
    if params.get("show") == "earlier":
        return _earlier(request, context, report, site_ids, step_names, zone)
    # The site filter narrows to one of the member's sites (an unknown code is a form error).
    shown = {site.pk for site in sites if site.code == filters.site} if filters.site else site_ids

    def lines():
        return selectors.exception_queue_lines(
            membership=membership, report=report, filters=filters, site_ids=shown
        )

    if params.get("format") == "csv":
        return _csv(lines(), report, zone, step_names, context["site_names"])
    cells = selectors.exception_queue_cells(report=report, site_ids=shown, filters=filters)
    if cells is None:
        cells = selectors.exception_queue_summary(lines())
    total = sum(cell.count for cell in cells)
    if not total and not filters.status:
        context["closed_count"] = sum(
            cell.count
            for cell in selectors.exception_queue_cells(
                report=report, site_ids=shown, filters=replace(filters, status="all")
            )
            or []
        )
    page = queue_page.exception_queue_page(
        report=report,
        filters=filters,
        site_ids=shown,
        zone=zone,
        after=_line_id(params.get("after")),
        before=_line_id(params.get("before")),
        last=bool(params.get("last")),
    )
    rows = _with_words(_with_age(page.rows, report, zone), step_names, context["site_names"])
    context.update(
        page=page,
        total=total,
        rows=rows,
        rows_html=queue_rows_html(
            rows,
            item_base=context["item_base"],
            case_base=context["case_base"],
            zone=zone,
            next_url=context["next"],
        ),
        summary=_summary_matrix(cells, report, zone, step_names, context, filters),
    )
    context["summary_html"] = queue_summary_html(
        context["summary"], status_label=context["status_label"]
    )
    return render(request, "pathways/exception_queue.html", context)


def _summary_matrix(cells, report, zone, step_names, context, filters) -> dict:
    """The huddle summary as one compact table: a row per (step, kind), a column per site, each
    cell the count (and the oldest's age) linking to those lines."""
    site_ids = sorted({cell.site_id for cell in cells}, key=lambda pk: context["site_codes"][pk])
    rows: dict[tuple[str, str], dict] = {}
    for cell in cells:
        row = rows.setdefault(
            (cell.step, cell.kind),
            {
                "step": cell.step,
                "step_name": step_names.get(cell.step, cell.step),
                "kind": cell.kind,
                "kind_label": KIND_LABELS.get(cell.kind, cell.kind),
                "cells": {},
                "count": 0,
            },
        )
        row["cells"][cell.site_id] = {
            "count": cell.count,
            "oldest_age": selectors.exception_age_days(report=report, since=cell.oldest, zone=zone),
            "site": context["site_codes"][cell.site_id],
        }
        row["count"] += cell.count
    ordered = sorted(rows.values(), key=lambda row: (row["step_name"], row["kind_label"]))
    for row in ordered:
        row["by_site"] = [row["cells"].get(pk) for pk in site_ids]
    return {
        "sites": [
            {"id": pk, "code": context["site_codes"][pk], "name": context["site_names"][pk]}
            for pk in site_ids
        ],
        "rows": ordered,
        "filter_base": _filter_base(filters, report if context.get("dated") else None),
    }


def _filter_base(filters, report) -> str:
    """The query a summary cell keeps (the day, when one was asked for; status, assignee, age)
    before adding its own site, step and kind."""
    kept = QueryDict(mutable=True)
    if report is not None:
        kept["date"] = report.date.isoformat()
    for name in ("status", "assignee", "age"):
        if getattr(filters, name):
            kept[name] = getattr(filters, name)
    return kept.urlencode()


def _earlier(request, context, report, site_ids, step_names, zone):
    """Items still needing action that are not on the report: the rest of the home page's
    count, listed oldest first."""
    items = selectors.exception_items_open_earlier(
        membership=request.membership, report=report, site_ids=site_ids
    )
    page = Paginator(items, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for item in page.object_list:
        line = SimpleNamespace(
            item=item,
            kind=item.kind,
            due_at=item.due_at,
            completed_at=item.completed_at,
            since=item.due_at or item.anchor_at,
            report_id="",
            site_id=item.site_id,
            get_kind_display=item.get_kind_display,
        )
        rows.append(line)
    rows = _with_words(_with_age(rows, report, zone), step_names, context["site_names"])
    context.update(
        earlier_page=page,
        rows=rows,
        rows_html=queue_rows_html(
            rows,
            item_base=context["item_base"],
            case_base=context["case_base"],
            zone=zone,
            next_url=context["next"],
        ),
    )
    return render(request, "pathways/exception_queue_earlier.html", context)


def _csv(lines, report, zone, step_names, site_names) -> HttpResponse:
    lines = lines.select_related("item", "item__case").defer("item__case__referral_at")
    return csv_response(
        f"exceptions-{report.date}.csv",
        CSV_COLUMNS,
        (
            _csv_row(line, report, zone, step_names, site_names)
            for line in lines.iterator(chunk_size=2000)
        ),
    )


def _local(value, zone) -> str:
    return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M") if value else ""


def _csv_row(line, report, zone, step_names, site_names) -> list:
    item = line.item
    return [
        report.date.isoformat(),
        site_names.get(line.site_id, ""),
        item.case.external_ref,
        step_names.get(item.step, item.step),
        KIND_LABELS.get(line.kind, line.kind),
        _local(line.due_at, zone),
        _local(line.completed_at, zone),
        selectors.exception_age_days(report=report, since=line.since, zone=zone),
        STATUS_LABELS.get(item.status, item.status),
        item.assignee_name,
        item.note,
        item.first_reported_on.isoformat(),
    ]


def _next_url(request) -> str:
    return _safe_next(request, request.POST.get("next"))


def _safe_next(request, target: str | None) -> str:
    target = target or ""
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


def _bases(request) -> dict:
    """The URL prefixes rows are built from (a row per item would reverse several URLs)."""
    org = request.organization.slug
    return {
        "item_base": reverse("exception_queue", kwargs={"org": org}),
        "case_base": reverse("case_detail", kwargs={"org": org, "external_ref": "~"})[:-2],
    }


def _actions_context(request, item, *, report_id, next_url: str) -> dict:
    """What an item's actions need: the people who may take its site's exceptions (its case's
    practitioner, where an app above pathways knows one, chosen unless already assigned)."""
    people = [
        person
        for person in assignee_directory.assignees_for_sites([item.site_id])
        if person.takes(item.site_id)
    ]
    owner = assignee_directory.case_owner_keys([item.case_id]).get(item.case_id, "")
    suggested = item.assignee_key or owner
    return {
        "item": item,
        "people": people,
        "owner": owner,
        "suggested": suggested,
        "assignee_options": assignee_options_html(people, selected=suggested, owner=owner),
        "report_id": report_id or "",
        "next": next_url,
        **_bases(request),
    }


def _row(request, item, error: str = "") -> HttpResponse:
    line = selectors.exception_item_line(item=item, report_id=request.POST.get("report"))
    _with_age([line], line.report, request.organization.zone)
    _with_words([line], selectors.pathway_step_names())
    next_url = _next_url(request)
    actions = ""
    if error:
        actions = render_to_string(
            "pathways/_exception_actions.html",
            _actions_context(request, item, report_id=line.report_id, next_url=next_url),
            request=request,
        )
    html = queue_row_html(
        line,
        zone=request.organization.zone,
        next_url=next_url,
        error=error,
        actions=actions,
        **_bases(request),
    )
    return HttpResponse(html)


@queue_access
def exception_actions(request, org, pk):
    """An item's actions, fetched when its row's menu opens (one picker per page, not one per
    row); without JavaScript the menu's link opens them as a page."""
    item = _item_or_404(request, pk)
    context = _actions_context(
        request,
        item,
        report_id=_line_id(request.GET.get("report")),
        next_url=_safe_next(request, request.GET.get("next")),
    )
    if request.htmx:
        return render(request, "pathways/_exception_actions.html", context)
    context["step_name"] = selectors.pathway_step_names().get(item.step, item.step)
    return render(request, "pathways/exception_actions.html", context)


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
        "step_name": selectors.pathway_step_names().get(item.step, item.step),
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
    path("exceptions/<int:pk>/actions/", exception_actions, name="exception_actions"),
    path("exceptions/<int:pk>/assign/", exception_assign, name="exception_assign"),
    path("exceptions/<int:pk>/resolve/", exception_resolve, name="exception_resolve"),
    path("exceptions/<int:pk>/accept/", exception_accept, name="exception_accept"),
]
