"""Workforce pages: the overview of sites, the per-site page (teams, skill mix, staff, open
integrity exceptions, trend charts), staff detail, standards and training modules."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from pathways.models import Pathway
from scaling_ops.access import site_for_member
from scaling_ops.celery import QueueUnavailable
from scaling_ops.models import Role
from scaling_ops.views_common import add_form_errors, csv_response
from workforce import charts, selectors
from workforce.forms import (
    CompletionForm,
    EstablishmentForm,
    ModuleForm,
    StaffForm,
    StandardForm,
    SupervisorForm,
    TeamForm,
)
from workforce.models import (
    CheckKind,
    Decision,
    StaffRole,
    TeamEstablishment,
    TrainingModule,
    WorkforceStandard,
)
from workforce.services import (
    onboarding_task_complete,
    packages,
    staff_create,
    team_create,
    team_establishment_set,
    team_set_supervisor,
    training_completion_record,
    training_module_create,
    workforce_exception_accept,
    workforce_exception_resolve,
    workforce_standard_save,
)
from workforce.services.authority import standard_or_default
from workforce.services.training import modules_for
from workforce.tasks import workforce_checks_enqueue
from workforce.views.common import LEADS, page_of, supervision_access, workforce_access


@workforce_access
def workforce_overview(request, org):
    return render(
        request,
        "workforce/overview.html",
        {
            "summaries": selectors.site_summaries(membership=request.membership),
            "run": selectors.latest_run(),
            "kinds": CheckKind.choices,
            "day": selectors.today_for(request.membership),
        },
    )


@workforce_access
def workforce_site(request, org, code):
    site = site_for_member(request, code)
    today = selectors.today_for(request.membership)
    teams = selectors.site_teams(site=site, day=today)
    team_form = TeamForm(prefix="team")
    staff_form = StaffForm(prefix="staff", teams=[t["team"] for t in teams])
    if request.method == "POST":
        if "team-name" in request.POST:
            team_form = TeamForm(request.POST, prefix="team")
            if team_form.is_valid():
                try:
                    team = team_create(site=site, by=request.user, **team_form.cleaned_data)
                except ValidationError as error:
                    add_form_errors(team_form, error)
                else:
                    messages.success(request, f"Team {team.name} created; name its supervisor.")
                    return redirect("workforce_site", org=org, code=code)
        else:
            staff_form = StaffForm(request.POST, prefix="staff", teams=[t["team"] for t in teams])
            if staff_form.is_valid():
                data = dict(staff_form.cleaned_data)
                team_id = data.pop("team")
                data["team"] = next(
                    (t["team"] for t in teams if str(t["team"].pk) == team_id), None
                )
                try:
                    staff = staff_create(site=site, by=request.user, **data)
                except ValidationError as error:
                    add_form_errors(staff_form, error)
                else:
                    plan = (
                        " with a first-30-days onboarding plan"
                        if hasattr(staff, "onboarding")
                        else ""
                    )
                    messages.success(request, f"{staff.name} added{plan}.")
                    return redirect("workforce_staff", org=org, pk=staff.pk)
    team_filter = request.GET.get("team", "")
    role_filter = request.GET.get("role", "") if request.GET.get("role") in StaffRole.values else ""
    staff = selectors.site_staff(site=site, team=team_filter, role=role_filter)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"staff-{site.code}.csv",
            ["Name", "Role", "Experience", "FTE", "Team", "Started", "Left"],
            ([s.name, s.get_role_display(), s.get_experience_band_display(), s.fte,
              s.team.name if s.team else "",
              s.start_date.isoformat(), s.left_on.isoformat() if s.left_on else ""] for s in staff),
        )  # fmt: skip
    page, query = page_of(request, staff)
    run = selectors.latest_run()
    standard = standard_or_default()
    chart_list = [
        chart
        for chart in (
            charts.check_trends("trend", selectors.trend_figures(site=site, until=run.date))
            if run
            else None,
            charts.skill_mix("skill-mix", teams, standard.min_experienced_share),
        )
        if chart
    ]
    return render(
        request,
        "workforce/site.html",
        {
            "site": site,
            "teams": teams,
            "page": page,
            "query": query,
            "team_filter": team_filter,
            "role_filter": role_filter,
            "roles": StaffRole.choices,
            "exceptions": list(selectors.open_exceptions(sites=[site])),
            "run": run,
            "charts": chart_list,
            "standard": standard,
            "team_form": team_form,
            "staff_form": staff_form,
            "can_edit": request.membership.role in LEADS,
        },
    )


@require_POST
@supervision_access
def workforce_recompute(request, org):
    from datetime import timedelta

    day = selectors.today_for(request.membership) - timedelta(days=1)
    try:
        ran_inline = workforce_checks_enqueue(organization=request.organization, date=day)
    except QueueUnavailable:
        messages.error(
            request,
            f"Workforce checks for {day} could not be queued: the task queue is unavailable. "
            "Nothing was changed; the exceptions shown are from the last run. Try again in a "
            "few minutes.",
        )
    else:
        if ran_inline:
            messages.success(request, f"Workforce checks for {day} recomputed.")
        else:
            messages.info(request, f"Workforce checks for {day} queued; reload in a minute.")
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/"):
        return redirect(target)
    return redirect("workforce_overview", org=org)


def _exception(request, pk):
    row = selectors.exception_for_member(membership=request.membership, pk=pk)
    if row is None:
        raise Http404("No such workforce exception.")
    return row


@require_POST
@supervision_access
def workforce_exception_close(request, org, pk, action):
    if action not in ("resolve", "accept"):
        raise Http404("Resolve or accept.")
    row = _exception(request, pk)
    try:
        if action == "accept":
            workforce_exception_accept(row=row, by=request.user, reason=request.POST.get("note"))
        else:
            workforce_exception_resolve(row=row, by=request.user, note=request.POST.get("note"))
    except ValidationError as error:
        if request.htmx:
            row.refresh_from_db()
            return render(request, "workforce/_exception_row.html",
                          {"row": row, "error": " ".join(error.messages)})  # fmt: skip
        messages.error(request, f"{row.subject}: {' '.join(error.messages)}")
    else:
        if request.htmx:
            return render(request, "workforce/_exception_row.html", {"row": row})
        messages.success(request, f"{row.subject}: {row.get_kind_display().lower()} {row.status}.")
    return redirect(
        reverse("workforce_site", kwargs={"org": org, "code": row.site.code}) + "#exceptions"
    )


def _staff(request, pk):
    staff = selectors.staff_for_member(membership=request.membership, pk=pk)
    if staff is None:
        raise Http404("No such staff member.")
    return staff


@supervision_access
def workforce_staff(request, org, pk):
    staff = _staff(request, pk)
    modules = modules_for(staff, TrainingModule.objects.all())
    form = CompletionForm(
        request.POST or None,
        modules=modules,
        initial={"completed_on": selectors.today_for(request.membership)},
    )
    if request.method == "POST" and form.is_valid():
        module = next(m for m in modules if str(m.pk) == form.cleaned_data["module"])
        try:
            training_completion_record(
                staff=staff, module=module, completed_on=form.cleaned_data["completed_on"],
                by=request.user, evidence=form.cleaned_data["evidence"],
            )  # fmt: skip
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"{module.name} signed off for {staff.name}.")
            return redirect("workforce_staff", org=org, pk=pk)
    plan = getattr(staff, "onboarding", None) if hasattr(staff, "onboarding") else None
    tasks = list(plan.tasks.select_related("module", "done_by")) if plan else []
    links = packages.onboarding_links(staff=staff, tasks=tasks)
    for task in tasks:
        task.package_links = links.get(task.pk, [])
    return render(
        request,
        "workforce/staff.html",
        {
            "staff": staff,
            "form": form,
            "completions": selectors.staff_completions(staff=staff),
            "sessions": selectors.staff_sessions(staff=staff)[:30],
            "plan": plan,
            "tasks": tasks,
            "done": sum(1 for t in tasks if t.done_on),
            "today": selectors.today_for(request.membership),
            "modules": modules,
            "package_rows": packages.staff_package_rows(staff=staff),
        },
    )


@require_POST
@supervision_access
def package_acknowledge(request, org, pk, version):
    staff = _staff(request, pk)
    found = next(
        (v for v in packages.package_versions_for_site(staff.site) if v.pk == version), None
    )
    if found is None:
        raise Http404("No such package for this person's site.")
    try:
        packages.package_acknowledge(staff=staff, version=found, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{staff.name} acknowledged the package of {found.pathway.name} v{found.number}.",
        )
    return redirect("workforce_staff", org=org, pk=pk)


@require_POST
@supervision_access
def package_acknowledgement_withdraw(request, org, pk, acknowledgement):
    staff = _staff(request, pk)
    row = staff.package_acknowledgements.filter(pk=acknowledgement).first()
    if row is None:
        raise Http404("No such acknowledgement.")
    try:
        packages.package_acknowledgement_withdraw(acknowledgement=row, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Acknowledgement withdrawn for {staff.name}.")
    return redirect("workforce_staff", org=org, pk=pk)


@require_POST
@supervision_access
def onboarding_task_done(request, org, pk, task):
    staff = _staff(request, pk)
    row = staff.onboarding.tasks.filter(pk=task).first() if hasattr(staff, "onboarding") else None
    if row is None:
        raise Http404("No such onboarding task.")
    onboarding_task_complete(task=row, by=request.user)
    messages.success(request, f"Done: {row.title}.")
    return redirect("workforce_staff", org=org, pk=pk)


@workforce_access
def workforce_team(request, org, pk):
    team = selectors.team_for_member(membership=request.membership, pk=pk)
    if team is None:
        raise Http404("No such team.")
    supervisors = selectors.supervisors_for(membership=request.membership).filter(site=team.site)
    setting_establishment = request.method == "POST" and "fte" in request.POST
    form = SupervisorForm(
        request.POST if request.method == "POST" and not setting_establishment else None,
        supervisors=supervisors,
        initial={"supervisor": team.supervisor_id},
    )
    establishment_form = EstablishmentForm(
        request.POST if setting_establishment else None,
        initial={"effective_from": selectors.today_for(request.membership)},
    )
    if setting_establishment and establishment_form.is_valid():
        try:
            row = team_establishment_set(
                team=team, by=request.user, **establishment_form.cleaned_data
            )
        except ValidationError as error:
            add_form_errors(establishment_form, error)
        else:
            messages.success(
                request, f"{team.name}: {row.fte} FTE funded from {row.effective_from:%Y-%m-%d}."
            )
            return redirect("workforce_team", org=org, pk=team.pk)
    if request.method == "POST" and not setting_establishment and form.is_valid():
        chosen = next(
            (s for s in supervisors if str(s.pk) == form.cleaned_data["supervisor"]), None
        )
        try:
            team_set_supervisor(team=team, supervisor=chosen, by=request.user)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request, f"{team.name}: supervisor {chosen.name if chosen else 'none'}."
            )
            return redirect("workforce_site", org=org, code=team.site.code)
    history = team.history.select_related("history_user").order_by("-history_date")[:30]
    return render(
        request,
        "workforce/team.html",
        {
            "team": team,
            "form": form,
            "history": history,
            "establishment_form": establishment_form,
            "establishments": team.establishments.select_related("set_by"),
            "establishment_history": TeamEstablishment.history.filter(team_id=team.pk)
            .select_related("history_user")
            .order_by("-history_date")[:30],
        },
    )


@workforce_access
def workforce_standards(request, org):
    pathways = list(Pathway.objects.order_by("name"))
    slug = request.GET.get("pathway", "")
    pathway = next((p for p in pathways if p.slug == slug), None)
    pathway_id = pathway.pk if pathway else None
    standard = WorkforceStandard.objects.filter(pathway_id=pathway_id).first()
    # A pathway without its own standard starts from the organisation's.
    current = standard or standard_or_default()
    initial = {
        name: getattr(current, name)
        for name in ("min_experienced_share", "max_practitioners_per_supervisor",
                     "supervision_interval_days", "review_sample_size", "onboarding_days",
                     "max_caseload")
    }  # fmt: skip
    for decision in Decision.values:
        initial[f"authority_{decision}"] = current.roles_for(decision)
    form = StandardForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        authority = {d: data.pop(f"authority_{d}") for d in Decision.values}
        if data.get("max_caseload") is None:
            data.pop("max_caseload", None)  # left empty: the current maximum stays
        try:
            workforce_standard_save(
                by=request.user, authority=authority, pathway_id=pathway_id, **data
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Workforce standard saved; it applies from the next check.")
            return redirect(request.get_full_path())
    modules_form = ModuleForm(prefix="module")
    return render(
        request,
        "workforce/standards.html",
        {
            "form": form,
            "standard": standard,
            "pathways": pathways,
            "pathway": pathway,
            "others": WorkforceStandard.objects.select_related("pathway"),
            "history": standard.history.select_related("history_user")[:20] if standard else [],
            "modules": TrainingModule.objects.all(),
            "module_form": modules_form,
            "is_admin": request.membership.role == Role.ORG_ADMIN,
            "decisions": [(d, label, current.roles_for(d)) for d, label in Decision.choices],
            "role_labels": dict(StaffRole.choices),
        },
    )


@require_POST
@workforce_access
def training_module_add(request, org):
    form = ModuleForm(request.POST, prefix="module")
    if form.is_valid():
        try:
            module = training_module_create(**form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Training module {module.name} added.")
    else:
        messages.error(request, "Give the module a code, a name and a kind.")
    return redirect("workforce_standards", org=org)


urlpatterns = [
    path("workforce/", workforce_overview, name="workforce_overview"),
    path("workforce/recompute/", workforce_recompute, name="workforce_recompute"),
    path("workforce/standards/", workforce_standards, name="workforce_standards"),
    path("workforce/modules/add/", training_module_add, name="workforce_module_add"),
    path("workforce/sites/<slug:code>/", workforce_site, name="workforce_site"),
    path("workforce/teams/<int:pk>/", workforce_team, name="workforce_team"),
    path("workforce/staff/<int:pk>/", workforce_staff, name="workforce_staff"),
    path(
        "workforce/staff/<int:pk>/package/<int:version>/acknowledge/",
        package_acknowledge,
        name="workforce_package_acknowledge",
    ),
    path(
        "workforce/staff/<int:pk>/package/acknowledgements/<int:acknowledgement>/withdraw/",
        package_acknowledgement_withdraw,
        name="workforce_package_withdraw",
    ),
    path(
        "workforce/staff/<int:pk>/onboarding/<int:task>/done/",
        onboarding_task_done,
        name="workforce_onboarding_done",
    ),
    path(
        "workforce/exceptions/<int:pk>/<str:action>/",
        workforce_exception_close,
        name="workforce_exception_close",
    ),
]
