"""Coaching pages: the sessions of the member's sites (held and due), recording a held session
with its agenda, and one session with the figures it looked at. Implementation leads record;
supervisors read (the agenda links to case-level pages, so never commissioners)."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from scaling_ops.access import WRITE_ROLES
from scaling_ops.forms import TEXT_MAX_LENGTH, PlausibleDateField
from scaling_ops.models import Membership
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors
from workforce.coaching.models import CoachingSession
from workforce.coaching.services import (
    coaching_agenda,
    coaching_follow_up_raise,
    coaching_follow_ups,
    coaching_session_record,
)
from workforce.models import StaffMember, Team
from workforce.views.common import page_of, workforce_access


class CoachingForm(forms.Form):
    site = forms.ChoiceField()
    held_on = PlausibleDateField(widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ChoiceField(required=False)
    attendees = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    notes = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the cases showed, what was practised. No case details beyond refs.",
    )  # fmt: skip
    follow_up = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}),
        label="Follow-up notes",
        help_text="What was agreed; raise each action on the session's page once recorded.",
    )  # fmt: skip

    def __init__(self, *args, sites, staff, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]
        self.fields["team"].choices = [("", "Whole site")] + [
            (str(t.pk), f"{t.name} ({t.site.name})") for t in teams
        ]
        self.fields["attendees"].choices = [(str(p.pk), f"{p.name} ({p.site.name})") for p in staff]


class FollowUpForm(forms.Form):
    title = forms.CharField(max_length=200, label="Action")
    owner = forms.ChoiceField()
    deadline = PlausibleDateField(widget=forms.DateInput(attrs={"type": "date"}), label="Due")

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Choose the owner")] + [
            (str(m.user_id), f"{m.user.get_full_name() or m.user.get_username()} "
             f"({m.get_role_display()})")
            for m in owners
        ]  # fmt: skip


def _owners():
    """Who may own an improvement action: the members with a write role."""
    return list(
        Membership.objects.filter(role__in=WRITE_ROLES)
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )


def _sessions(request):
    return CoachingSession.objects.filter(site__in=visible_sites(request.membership))


@workforce_access
def coaching_list(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    chosen = request.GET.get("site", "")
    sessions = (
        _sessions(request)
        .select_related("site", "lead", "team")
        .prefetch_related("attendees")
        .order_by("held_on", "due_on")
    )
    if chosen:
        sessions = sessions.filter(site__code=chosen)
    today = timezone.localdate(timezone=request.organization.zone)
    due = [s for s in sessions if s.held_on is None]
    held = sessions.filter(held_on__isnull=False).order_by("-held_on", "-pk")
    page, query = page_of(request, held, size=25)
    return render(
        request,
        "workforce/coaching_list.html",
        {"sites": sites, "chosen": chosen, "due": due, "page": page, "query": query,
         "today": today},
    )  # fmt: skip


@workforce_access
def coaching_new(request, org):
    sites = list(visible_sites(request.membership).order_by("code"))
    staff = list(
        StaffMember.objects.filter(site__in=sites, left_on__isnull=True)
        .select_related("site")
        .order_by("site__code", "name")
    )
    teams = list(Team.objects.filter(site__in=sites).select_related("site").order_by("name"))
    scheduled = None
    if request.GET.get("session", "").isdigit():
        scheduled = _sessions(request).filter(pk=request.GET["session"], held_on=None).first()
    today = timezone.localdate(timezone=request.organization.zone)
    initial = {
        "held_on": today,
        "site": scheduled.site.code if scheduled else request.GET.get("site"),
    }
    form = CoachingForm(
        request.POST or None, initial=initial, sites=sites, staff=staff, teams=teams
    )
    site = next((s for s in sites if s.code == (form.data.get("site") or initial["site"])), None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        site = next(s for s in sites if s.code == data["site"])
        by_pk = {str(p.pk): p for p in staff}
        team = next((t for t in teams if str(t.pk) == data["team"]), None)
        try:
            session = coaching_session_record(
                site=site, held_on=data["held_on"], lead=request.user,
                attendees=[by_pk[pk] for pk in data["attendees"]], team=team,
                notes=data["notes"], follow_up=data["follow_up"], by=request.user,
                organization=request.organization, session=scheduled,
            )  # fmt: skip
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Coaching session at {site.name} recorded.")
            return redirect("workforce_coaching_detail", org=org, pk=session.pk)
    held_on = today
    if form.is_bound and form.is_valid():
        held_on = form.cleaned_data["held_on"]
    preview = (
        coaching_agenda(site=site, held_on=held_on, organization=request.organization)
        if site
        else []
    )
    return render(
        request,
        "workforce/coaching_new.html",
        {"form": form, "scheduled": scheduled, "preview": preview, "site": site,
         "week": (held_on - timedelta(days=7), held_on - timedelta(days=1))},
    )  # fmt: skip


@workforce_access
def coaching_detail(request, org, pk):
    session = (
        _sessions(request)
        .select_related("site", "lead", "team")
        .prefetch_related("attendees")
        .filter(pk=pk)
        .first()
    )
    if session is None:
        raise Http404("No such coaching session.")
    return _detail(request, session, FollowUpForm(owners=_owners()))


def _detail(request, session, form, status=200):
    history = session.history.select_related("history_user").order_by("-history_date")[:20]
    follow_ups = coaching_follow_ups(session_ids=[session.pk]).get(session.pk, [])
    return render(
        request,
        "workforce/coaching_detail.html",
        {"session": session, "history": history, "follow_ups": follow_ups,
         "follow_up_form": form, "today": timezone.localdate(timezone=request.organization.zone)},
        status=status,
    )  # fmt: skip


@require_POST
@workforce_access
def coaching_follow_up_new(request, org, pk):
    """Raises a follow-up action of the session in the improvement log (leads and admins)."""
    session = _sessions(request).select_related("site", "lead", "team").filter(pk=pk).first()
    if session is None:
        raise Http404("No such coaching session.")
    owners = _owners()
    form = FollowUpForm(request.POST, owners=owners)
    if form.is_valid():
        data = form.cleaned_data
        owner = next(m.user for m in owners if str(m.user_id) == data["owner"])
        try:
            action = coaching_follow_up_raise(
                session=session, title=data["title"], owner=owner, deadline=data["deadline"],
                by=request.user,
            )  # fmt: skip
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"{action.reference} raised in the improvement log.")
            return redirect("workforce_coaching_detail", org=org, pk=session.pk)
    return _detail(request, session, form, status=400)


urlpatterns = [
    path("workforce/coaching/", coaching_list, name="workforce_coaching"),
    path("workforce/coaching/new/", coaching_new, name="workforce_coaching_new"),
    path("workforce/coaching/<int:pk>/", coaching_detail, name="workforce_coaching_detail"),
    path(
        "workforce/coaching/<int:pk>/follow-ups/",
        coaching_follow_up_new,
        name="workforce_coaching_follow_up_new",
    ),
]
