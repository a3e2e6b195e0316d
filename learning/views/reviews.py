"""Cross-site learning reviews: the list (CSV), a new session (sites compared on chosen measures
from the assurance snapshots, patterns of the period), decisions and actions raised."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path

from learning import disclosure, selectors
from learning.forms import DecisionsForm, ReviewActionForm, ReviewForm
from learning.services import (
    learning_review_create,
    learning_review_raise_action,
    learning_review_record_decisions,
)
from learning.views.common import is_lead, lead_access, lead_only, owners, page_of
from scaling_ops.access import site_for_member
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, wants_csv


@lead_access
def review_list(request, org):
    cadence = request.GET.get("cadence", "")
    found = selectors.reviews(membership=request.membership, cadence=cadence)
    if wants_csv(request):
        measures = dict(selectors.measure_choices())
        return csv_response(
            "learning-reviews.csv",
            ["Reference", "Title", "Cadence", "Period start", "Period end", "Held on",
             "Measures", "Decisions"],
            (
                [r.reference, r.title, r.get_cadence_display(), r.period_start.isoformat(),
                 r.period_end.isoformat(), r.held_on.isoformat(),
                 "; ".join(measures.get(code, code) for code in r.measures), r.decisions]
                for r in disclosure.each_for_member(found, request.membership)
            ),
        )  # fmt: skip
    page, query = page_of(request, found)
    disclosure.for_member(list(page), request.membership)
    return render(
        request,
        "learning/review_list.html",
        {"page": page, "query": query, "cadence": cadence, "is_lead": is_lead(request)},
    )


@lead_only
def review_new(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    today = selectors.organization_today()
    quarter = selectors.quarter_start(today)
    form = ReviewForm(
        request.POST or None,
        sites=sites,
        measures=selectors.measure_choices(),
        initial={
            "cadence": "quarterly",
            "period_start": quarter,
            "period_end": today,
            "held_on": today,
            "sites": [s.code for s in sites],
            "measures": ["timeliness", "escalation_adherence"],
            "title": f"Cross-site learning review {selectors.quarter_label(quarter)}",
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            review = learning_review_create(
                title=data["title"],
                cadence=data["cadence"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                held_on=data["held_on"],
                sites=[site_for_member(request, code) for code in data["sites"]],
                measures=data["measures"],
                attendees=data["attendees"],
                decisions=data["decisions"],
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Learning review {review.reference} recorded.")
            return redirect("learning_review_detail", org=org, number=review.number)
    return render(request, "learning/review_new.html", {"form": form})


@lead_access
def review_detail(request, org, number):
    review = selectors.review_get(number=number)
    if review is None:
        raise Http404("No such learning review.")
    sites = list(visible_sites(request.membership).order_by("code"))
    decisions = DecisionsForm(
        initial={"decisions": review.decisions, "attendees": review.attendees}
    )
    raise_form = ReviewActionForm(
        sites=sites,
        owners=owners(),
        initial={"owner": request.user.pk,
                 "deadline": selectors.organization_today() + timedelta(days=30)},
    )  # fmt: skip
    if request.method == "POST":
        if request.POST.get("form") == "action":
            raise_form = ReviewActionForm(request.POST, sites=sites, owners=owners())
            if raise_form.is_valid():
                data = raise_form.cleaned_data
                owner = next((m.user for m in owners() if m.user_id == data["owner"]), None)
                try:
                    action = learning_review_raise_action(
                        review=review,
                        by=request.user,
                        title=data["title"],
                        owner=owner,
                        deadline=data["deadline"],
                        site=site_for_member(request, data["site"]) if data["site"] else None,
                    )
                except ValidationError as error:
                    add_form_errors(raise_form, error)
                else:
                    messages.success(request, f"Improvement action {action.reference} raised.")
                    return redirect("learning_review_detail", org=org, number=number)
        else:
            decisions = DecisionsForm(request.POST)
            if decisions.is_valid():
                learning_review_record_decisions(
                    review=review, by=request.user, **decisions.cleaned_data
                )
                messages.success(request, "Decisions recorded.")
                return redirect("learning_review_detail", org=org, number=number)
    disclosure.for_member(review, request.membership)
    comparison = selectors.review_comparison_for_member(
        review=review, membership=request.membership
    )
    rows = [
        (row, [row["values"].get(m["code"], {}) for m in comparison.get("measures", [])])
        for row in comparison.get("rows", [])
    ]
    network = [
        comparison.get("network", {}).get(m["code"], {}) for m in comparison.get("measures", [])
    ]
    return render(
        request,
        "learning/review_detail.html",
        {
            "review": review,
            "comparison": comparison,
            "patterns": selectors.review_patterns_for_member(
                review=review, membership=request.membership
            ),
            "rows": rows,
            "network": network,
            "actions": disclosure.for_member(
                list(review.actions.select_related("owner", "site").order_by("number")),
                request.membership,
            ),
            "decisions": decisions,
            "raise_form": raise_form,
            "is_lead": is_lead(request),
            "history": disclosure.history_for_member(
                selectors.history_of(review), review, request.membership
            ),
            "can_publish": is_lead(request),
        },
    )


urlpatterns = [
    path("learning/reviews/", review_list, name="learning_review_list"),
    path("learning/reviews/new/", review_new, name="learning_review_new"),
    path("learning/reviews/<int:number>/", review_detail, name="learning_review_detail"),
]
