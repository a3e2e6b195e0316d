"""The deviation log (filters, CSV, each deviation's history) and the quarterly patterns across
sites, flagged as a design signal when seen at the set number of sites."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone

from learning import disclosure, selectors
from learning.forms import DeviationFilter, DeviationForm, SettingsForm
from learning.models import Deviation
from learning.services import deviation_log, deviation_update, learning_settings_update
from learning.services.deviations import EXCEPTION_CATEGORIES
from learning.views.common import can_write, is_lead, log_access, page_of, write_only
from pathways.models import ExceptionItem, Step
from pathways.selectors.versions import step_choices, step_names_in_use
from pathways.wording import step_name
from scaling_ops.access import site_for_member
from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, person_name, wants_csv


def step_keys() -> list[str]:
    return sorted(
        set(Step.objects.values_list("key", flat=True)) | set(selectors.deviation_steps())
    )


@log_access
def deviation_list(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    form = DeviationFilter(request.GET, sites=sites, steps=step_choices(step_keys()))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    quarter = selectors.quarter_parse(data.get("quarter") or "")
    if data.get("quarter") and quarter is None:
        form.add_error("quarter", "Write a quarter as YYYY-Qn, e.g. 2026-Q4.")
    found = selectors.deviations(
        membership=request.membership,
        site=data.get("site", ""),
        category=data.get("category", ""),
        step=data.get("step", ""),
        quarter=quarter,
        from_exceptions=data.get("from_exceptions", ""),
    )
    if wants_csv(request):
        step_names = step_names_in_use()
        return csv_response(
            "deviations.csv",
            ["Reference", "Occurred on", "Site", "Step", "Category", "Referral source",
             "From an exception", "Note", "Logged by"],
            (
                [d.reference, d.occurred_on.isoformat(), d.site.name,
                 step_name(d.step, step_names) if d.step else "", d.get_category_display(),
                 d.get_referral_source_display(), "yes" if d.exception_id else "no", d.note,
                 person_name(d.logged_by)]
                for d in disclosure.each_for_member(found, request.membership)
            ),
        )  # fmt: skip
    page, query = page_of(request, found)
    disclosure.for_member(list(page), request.membership)
    return render(
        request,
        "learning/deviation_list.html",
        {"form": form, "page": page, "query": query, "can_write": can_write(request)},
    )


@write_only
def deviation_new(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    initial = {"occurred_on": selectors.organization_today()}
    item = None
    if exception := request.GET.get("exception") or request.POST.get("exception"):
        item = (
            ExceptionItem.objects.filter(
                site__in=visible_sites(request.membership), pk=int(exception)
            )
            .select_related("site")
            .first()
            if exception.isdigit()
            else None
        )
        if item is None:
            raise Http404("No such exception.")
        anchor = item.due_at or item.anchor_at
        initial.update(
            site=item.site.code,
            step=item.step,
            category=EXCEPTION_CATEGORIES.get(item.kind, Deviation.Category.OTHER),
            occurred_on=timezone.localdate(anchor, timezone=request.organization.zone),
            note=item.note,
        )
    form = DeviationForm(
        request.POST or None, sites=sites, steps=step_choices(step_keys()), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deviation = deviation_log(
                site=site_for_member(request, data["site"]),
                step=data["step"],
                category=data["category"],
                referral_source=data["referral_source"],
                occurred_on=data["occurred_on"],
                note=data["note"],
                exception_id=item.pk if item else None,
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Deviation {deviation.reference} logged.")
            return redirect("learning_deviation_detail", org=org, number=deviation.number)
    return render(request, "learning/deviation_new.html", {"form": form, "item": item})


@log_access
def deviation_detail(request, org, number):
    deviation = selectors.deviation_for_member(membership=request.membership, number=number)
    if deviation is None:
        raise Http404("No such deviation.")
    form = DeviationForm(
        request.POST or None,
        sites=[deviation.site],
        steps=step_choices(step_keys()),
        initial={
            "site": deviation.site.code,
            "step": deviation.step,
            "category": deviation.category,
            "referral_source": deviation.referral_source,
            "occurred_on": deviation.occurred_on,
            "note": deviation.note,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deviation_update(
                deviation=deviation,
                by=request.user,
                category=data["category"],
                step=data["step"],
                referral_source=data["referral_source"],
                note=data["note"],
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"{deviation.reference} saved.")
            return redirect("learning_deviation_detail", org=org, number=number)
    disclosure.for_member(deviation, request.membership)
    return render(
        request,
        "learning/deviation_detail.html",
        {
            "deviation": deviation,
            "form": form,
            "can_write": can_write(request),
            "show_exception": deviation.exception_id
            and request.membership.role != Role.COMMISSIONER,
            "history": disclosure.history_for_member(
                selectors.history_of(deviation), deviation, request.membership
            ),
            "can_publish": can_write(request),
        },
    )


@log_access
def pattern_list(request, org):
    """The quarter's deviation patterns across the member's sites; the threshold is a setting."""
    today = selectors.organization_today()
    quarter = selectors.quarter_parse(request.GET.get("quarter", "")) or selectors.quarter_start(
        today
    )
    settings = selectors.learning_settings_get()
    form = SettingsForm(
        request.POST or None,
        initial={
            "pattern_min_sites": settings.pattern_min_sites,
            "default_deadline_days": settings.default_deadline_days,
        },
    )
    if request.method == "POST":
        if not is_lead(request):
            raise PermissionDenied("Only leads change the learning settings.")
        if form.is_valid():
            try:
                learning_settings_update(by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, "Settings saved.")
                return redirect(f"{request.path}?quarter={selectors.quarter_label(quarter)}")
    site_ids = list(visible_sites(request.membership).values_list("pk", flat=True))
    patterns = selectors.deviation_patterns(
        start=quarter,
        end=selectors.quarter_end(quarter),
        min_sites=settings.pattern_min_sites,
        site_ids=site_ids,
    )
    label = selectors.quarter_label(quarter)
    if wants_csv(request):
        step_names = step_names_in_use()
        categories = dict(Deviation.Category.choices)
        return csv_response(
            f"deviation-patterns-{label}.csv",
            ["Quarter", "Category", "Step", "Sites", "Number of sites", "Deviations",
             "Design signal"],
            (
                [label, categories.get(p.category, p.category),
                 step_name(p.step, step_names) if p.step else "", " ".join(p.sites),
                 p.site_count, p.count, "yes" if p.flagged else "no"]
                for p in patterns
            ),
        )  # fmt: skip
    previous = selectors.quarter_start(quarter.replace(day=1) - timedelta(days=1))
    following = selectors.quarter_start(selectors.quarter_end(quarter) + timedelta(days=1))
    return render(
        request,
        "learning/pattern_list.html",
        {
            "patterns": patterns,
            "quarter": label,
            "previous": selectors.quarter_label(previous),
            "following": selectors.quarter_label(following) if following <= today else "",
            "settings": settings,
            "form": form,
            "is_lead": is_lead(request),
            "signals": sum(1 for p in patterns if p.flagged),
        },
    )


urlpatterns = [
    path("learning/deviations/", deviation_list, name="learning_deviation_list"),
    path("learning/deviations/new/", deviation_new, name="learning_deviation_new"),
    path("learning/deviations/<int:number>/", deviation_detail, name="learning_deviation_detail"),
    path("learning/patterns/", pattern_list, name="learning_pattern_list"),
]
