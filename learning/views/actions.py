"""The improvement log: list (filters, overdue flags, CSV), raise, edit, move through
open → in progress → done → verified, and raise in one click from an exception item."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.views.decorators.http import require_POST

from learning import disclosure, selectors
from learning.forms import ActionEditForm, ActionFilter, ActionForm, ActionStatusForm
from learning.models import ImprovementAction
from learning.services import (
    improvement_action_create,
    improvement_action_raise_from_source,
    improvement_action_transition,
    improvement_action_update,
)
from learning.views.common import can_write, is_lead, log_access, owners, page_of, write_only
from pathways.models import ExceptionItem
from scaling_ops.access import site_for_member
from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, person_name, wants_csv

# Where a linked record lives, by model name (read-only roles never get case-level links).
SOURCE_URLS = {
    "exceptionitem": ("exception_detail", False),
    "incident": ("assurance_incident_detail", False),
    "driftsignal": ("assurance_drift_detail", True),
    "auditsample": ("assurance_audit_detail", False),
    "correctiveprocess": ("contract_process_detail", True),
    "coachingsession": ("workforce_coaching_detail", False),
}


def source_url(request, action: ImprovementAction) -> str | None:
    org = request.organization.slug
    if action.review_id:
        return reverse(
            "learning_review_detail", kwargs={"org": org, "number": action.review.number}
        )
    entry = SOURCE_URLS.get(action.source_model)
    if entry is None or action.source_id is None:
        return None
    name, everyone = entry
    if not everyone and request.membership.is_read_only:
        return None
    try:
        return reverse(name, kwargs={"org": org, "pk": action.source_id})
    except NoReverseMatch:  # the source's app renamed or removed its page
        return None


def may_edit(request, action: ImprovementAction) -> bool:
    """Leads and admins: every action in their sites; supervisors: their sites' actions and the
    ones they own; commissioners: none."""
    if not can_write(request):
        return False
    if is_lead(request) or action.owner_id == request.user.pk:
        return True
    return action.site_id is not None and (
        visible_sites(request.membership).filter(pk=action.site_id).exists()
    )


def _site_or_network(request, code: str):
    if code:
        return site_for_member(request, code)
    if not is_lead(request):
        raise ValidationError({"site": "Choose one of your sites: network-wide actions are raised "
                               "by implementation leads and org admins."})  # fmt: skip
    return None


def _owner(user_id):
    member = next((m for m in owners() if m.user_id == user_id), None)
    return member.user if member else None


@log_access
def action_list(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    form = ActionFilter(request.GET, sites=sites)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    today = selectors.organization_today()
    found = selectors.actions(
        membership=request.membership,
        site=data.get("site", ""),
        status=data.get("status", ""),
        source_kind=data.get("source_kind", ""),
        owner_id=request.user.pk if data.get("owner") == "me" else None,
        overdue=bool(data.get("overdue")),
        q=data.get("q", ""),
        today=today,
    )
    if wants_csv(request):
        return csv_response(
            "improvement-actions.csv",
            ["Reference", "Title", "Site", "Source", "Linked record", "Owner", "Deadline",
             "Status", "Overdue", "Closure evidence", "Re-audit on", "Created"],
            (
                [a.reference, a.title, a.site.name if a.site else "network",
                 a.get_source_kind_display(), a.source_label, person_name(a.owner),
                 a.deadline.isoformat(), a.get_status_display(),
                 "yes" if selectors.action_is_overdue(a, today) else "no", a.closure_evidence,
                 a.reaudit_on.isoformat() if a.reaudit_on else "", a.created_at.isoformat()]
                for a in disclosure.each_for_member(found, request.membership)
            ),
        )  # fmt: skip
    page, query = page_of(request, found)
    for action in page:
        action.overdue = selectors.action_is_overdue(action, today)
        disclosure.for_member(action, request.membership)
    overdue_total = selectors.overdue_actions(
        selectors.actions(membership=request.membership), today=today
    ).count()
    return render(
        request,
        "learning/action_list.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "today": today,
            "overdue_total": overdue_total,
            "can_write": can_write(request),
        },
    )


@write_only
def action_new(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    initial = {
        "owner": request.user.pk,
        "source_kind": request.GET.get("source_kind", ImprovementAction.Source.OTHER),
        "title": request.GET.get("title", ""),
        "site": request.GET.get("site", ""),
    }
    form = ActionForm(
        request.POST or None,
        sites=sites,
        owners=owners(),
        network=is_lead(request),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            action = improvement_action_create(
                title=data["title"],
                description=data["description"],
                site=_site_or_network(request, data["site"]),
                source_kind=data["source_kind"],
                source_label=data["source_label"],
                owner=_owner(data["owner"]),
                deadline=data["deadline"],
                reaudit_on=data["reaudit_on"],
                by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Improvement action {action.reference} raised.")
            return redirect("learning_action_detail", org=org, number=action.number)
    return render(request, "learning/action_new.html", {"form": form})


def _action_or_404(request, number: int) -> ImprovementAction:
    action = selectors.action_for_member(membership=request.membership, number=number)
    if action is None:
        raise Http404("No such improvement action.")
    return action


@log_access
def action_detail(request, org, number):
    action = _action_or_404(request, number)
    editable = may_edit(request, action)
    sites = list(visible_sites(request.membership).order_by("code"))
    edit = ActionEditForm(
        None,
        sites=sites,
        owners=owners(),
        network=is_lead(request),
        initial={
            "title": action.title,
            "description": action.description,
            "site": action.site.code if action.site else "",
            "owner": action.owner_id,
            "deadline": action.deadline,
            "reaudit_on": action.reaudit_on,
        },
    )
    allowed = ImprovementAction.TRANSITIONS[ImprovementAction.Status(action.status)]
    move = ActionStatusForm(initial={"reaudit_on": action.reaudit_on})
    move.fields["status"].choices = [
        (value, label) for value, label in ImprovementAction.Status.choices if value in allowed
    ]
    if request.method == "POST":
        if not editable:
            raise Http404("No such improvement action.")
        if request.POST.get("form") == "edit":
            edit = ActionEditForm(
                request.POST, sites=sites, owners=owners(), network=is_lead(request)
            )
            if edit.is_valid():
                data = edit.cleaned_data
                try:
                    improvement_action_update(
                        action=action,
                        by=request.user,
                        title=data["title"],
                        description=data["description"],
                        site=_site_or_network(request, data["site"]),
                        owner=_owner(data["owner"]),
                        deadline=data["deadline"],
                        reaudit_on=data["reaudit_on"],
                    )
                except ValidationError as error:
                    add_form_errors(edit, error)
                else:
                    messages.success(request, f"{action.reference} saved.")
                    return redirect("learning_action_detail", org=org, number=number)
        else:
            move = ActionStatusForm(request.POST)
            move.fields["status"].choices = ImprovementAction.Status.choices
            if move.is_valid():
                try:
                    improvement_action_transition(
                        action=action, by=request.user, **move.cleaned_data
                    )
                except ValidationError as error:
                    add_form_errors(move, error)
                else:
                    messages.success(
                        request, f"{action.reference} is {action.get_status_display().lower()}."
                    )
                    return redirect("learning_action_detail", org=org, number=number)
    today = selectors.organization_today()
    disclosure.for_member(action, request.membership)
    return render(
        request,
        "learning/action_detail.html",
        {
            "action": action,
            "overdue": selectors.action_is_overdue(action, today),
            "source_url": source_url(request, action),
            "editable": editable and action.status != ImprovementAction.Status.VERIFIED,
            "edit": edit,
            "move": move if allowed else None,
            "history": disclosure.history_for_member(
                selectors.history_of(action), action, request.membership
            ),
            "can_publish": editable,
            "is_commissioner": request.membership.role == Role.COMMISSIONER,
        },
        status=400 if (edit.errors or move.errors) else 200,
    )


@require_POST
@write_only
def action_from_exception(request, org, pk):
    item = (
        ExceptionItem.objects.filter(site__in=visible_sites(request.membership), pk=pk)
        .select_related("site")
        .first()
    )
    if item is None:
        raise Http404("No such exception.")
    try:
        action = improvement_action_raise_from_source(source=item, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("exception_detail", org=org, pk=pk)
    messages.success(
        request,
        f"Improvement action {action.reference} is linked to this exception; set its owner and "
        "deadline here.",
    )
    return redirect("learning_action_detail", org=org, number=action.number)


urlpatterns = [
    path("learning/actions/", action_list, name="learning_action_list"),
    path("learning/actions/new/", action_new, name="learning_action_new"),
    path("learning/actions/<int:number>/", action_detail, name="learning_action_detail"),
    path(
        "learning/actions/from-exception/<int:pk>/",
        action_from_exception,
        name="learning_action_from_exception",
    ),
]
