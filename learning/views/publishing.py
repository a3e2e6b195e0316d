"""Publishing a learning record's free text to commissioners, or withdrawing it: a choice a
supervisor (their sites' actions and deviations), lead or admin makes on the record's page."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from learning import selectors
from learning.services import learning_record_publish
from learning.views.actions import may_edit
from learning.views.common import is_lead, write_only

# kind in the URL -> (how the member's record is found, who may publish it, its page)
KINDS = {
    "actions": (
        lambda request, number: selectors.action_for_member(
            membership=request.membership, number=number
        ),
        may_edit,
        "learning_action_detail",
    ),
    "deviations": (
        lambda request, number: selectors.deviation_for_member(
            membership=request.membership, number=number
        ),
        lambda request, deviation: True,  # found only in the member's sites
        "learning_deviation_detail",
    ),
    "reviews": (
        lambda request, number: selectors.review_get(number=number),
        lambda request, review: is_lead(request),
        "learning_review_detail",
    ),
    "proposals": (
        lambda request, number: selectors.proposal_get(number=number),
        lambda request, proposal: is_lead(request),
        "learning_proposal_detail",
    ),
}


@require_POST
@write_only
def record_publish(request, org, kind, number):
    if kind not in KINDS:
        raise Http404("No such kind of record.")
    find, may_publish, page = KINDS[kind]
    instance = find(request, number)
    if instance is None or not may_publish(request, instance):
        raise Http404("No such record.")
    published = request.POST.get("published") == "yes"
    learning_record_publish(instance=instance, by=request.user, published=published)
    messages.success(
        request,
        f"{instance.reference} is published to commissioners (case refs redacted)."
        if published
        else f"{instance.reference} is no longer published: commissioners see a placeholder.",
    )
    return redirect(page, org=org, number=number)


urlpatterns = [
    path(
        "learning/<slug:kind>/<int:number>/publish/",
        record_publish,
        name="learning_record_publish",
    ),
]
