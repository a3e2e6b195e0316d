"""Launch readiness pages for implementation leads and org admins: the sites with their
progress, a site's checklist (blockers first) with sign-offs and their history, going live (or
an org admin's recorded override), and the checklist template's versions."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from scaling_ops.access import site_for_member
from scaling_ops.models import Role, Site
from scaling_ops.uploads import ALLOWED_TYPES, private_file_response
from scaling_ops.views_common import add_form_errors
from workforce import selectors
from workforce.forms import AttestForm, ChecklistVersionForm, GoLiveForm
from workforce.models import ChecklistItem, ChecklistTemplate, ReadinessAttestation
from workforce.services import (
    checklist_template_activate,
    checklist_template_ensure,
    checklist_template_new_version,
    readiness_attest,
    readiness_evaluate,
    readiness_withdraw,
    site_go_live,
)
from workforce.views.common import readiness_access


@readiness_access
def readiness_list(request, org):
    template = checklist_template_ensure(by=request.user)
    rows = []
    for site in selectors.sites_for(request.membership):
        if site.status == Site.Status.LIVE:
            rows.append({"site": site, "readiness": None})
        else:
            rows.append(
                {"site": site, "readiness": readiness_evaluate(site=site, template=template)}
            )
    return render(request, "workforce/readiness_list.html", {"rows": rows, "template": template})


# Where each automatic item is put right: (url name, whether it takes the site code, words).
FIXED_ON = {
    ChecklistItem.Rule.CORE_TRAINING: (
        "workforce_site",
        True,
        "Record training on the site's staff",
    ),
    ChecklistItem.Rule.SUPERVISOR_NAMED: ("workforce_site", True, "Name a supervisor per team"),
    ChecklistItem.Rule.PARTNER_KEY: ("partner_key_list", False, "Issue a partner key"),
    ChecklistItem.Rule.PATHWAY_ACTIVE: ("pathway_list", False, "Activate a pathway version"),
    ChecklistItem.Rule.ADAPTATIONS_APPROVED: ("adaptation_list", False, "Decide the adaptations"),
}


def _fix_links(request, site, readiness) -> None:
    """Each blocker links to the page that fixes it: the item's own sign-off form for an
    attested item, else the page of FIXED_ON (partner keys only for org admins, who issue them)."""
    org = request.membership.organization.slug
    for status in readiness.blockers:
        item = status.item
        if item.kind == ChecklistItem.Kind.ATTESTED:
            status.fix_url, status.fix_label = f"#item-{item.key}", "Sign it off below"
            continue
        target = FIXED_ON.get(item.rule)
        if target is None:
            continue
        name, per_site, label = target
        if name == "partner_key_list" and request.membership.role != Role.ORG_ADMIN:
            status.fix_url, status.fix_label = "", "An org admin issues partner keys"
            continue
        kwargs = {"org": org, "code": site.code} if per_site else {"org": org}
        status.fix_url, status.fix_label = reverse(name, kwargs=kwargs), label


def _readiness_page(request, site, *, attest_form=None, attest_key=None, status=200):
    readiness = readiness_evaluate(site=site)
    _fix_links(request, site, readiness)
    return render(
        request,
        "workforce/readiness.html",
        {
            "site": site,
            "readiness": readiness,
            # A refused sign-off comes back on its own item, with the text typed kept.
            "attest_form": attest_form or AttestForm(),
            "attest_key": attest_key,
            "go_live_form": GoLiveForm(),
            "history": selectors.readiness_history(site=site),
            # Status moves made anywhere (also the site page's override), with their reasons.
            "status_history": site.history.select_related("history_user").order_by("-history_date")[
                :30
            ],
            "is_admin": request.membership.role == Role.ORG_ADMIN,
            "evidence_limit": f"{settings.EVIDENCE_MAX_MB} MB",
            "evidence_types": ALLOWED_TYPES,
        },
        status=status,
    )


@readiness_access
def readiness_site(request, org, code):
    return _readiness_page(request, site_for_member(request, code))


@require_POST
@readiness_access
def readiness_attest_view(request, org, code, key):
    site = site_for_member(request, code)
    form = AttestForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            readiness_attest(
                site=site, item_key=key, evidence=form.cleaned_data["evidence"], by=request.user,
                evidence_file=form.cleaned_data.get("evidence_file"),
            )  # fmt: skip
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Signed off, with your evidence.")
            return redirect("readiness_site", org=org, code=code)
    messages.error(request, "Not signed off: see the message on the item.")
    return _readiness_page(request, site, attest_form=form, attest_key=key, status=400)


@readiness_access
def readiness_evidence(request, org, code, pk):
    """A sign-off's evidence file, as a download, for those who may see the site's readiness
    (leads and org admins of the site; commissioners and supervisors get 403, like every
    readiness page; another site's lead 404)."""
    site = site_for_member(request, code)
    attestation = selectors.readiness_evidence_get(site=site, pk=pk)
    if attestation is None or not attestation.evidence_file.storage.exists(
        attestation.evidence_file.name
    ):
        raise Http404("No such evidence file.")
    return private_file_response(
        file=attestation.evidence_file, filename=attestation.evidence_file_name or "evidence"
    )


@require_POST
@readiness_access
def readiness_withdraw_view(request, org, code, pk):
    site = site_for_member(request, code)
    attestation = ReadinessAttestation.objects.filter(site=site, pk=pk).first()
    if attestation is None:
        raise Http404("No such sign-off.")
    readiness_withdraw(attestation=attestation, by=request.user)
    messages.success(request, "Sign-off withdrawn; the item is open again.")
    return redirect("readiness_site", org=org, code=code)


@require_POST
@readiness_access
def readiness_go_live(request, org, code):
    site = site_for_member(request, code)
    form = GoLiveForm(request.POST)
    form.is_valid()
    try:
        decision = site_go_live(
            site=site, by=request.user, role=request.membership.role,
            override_reason=form.cleaned_data.get("override_reason", ""),
        )  # fmt: skip
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        if decision.override_reason:
            messages.warning(request, f"{site.name} is live by override; the reason is recorded.")
        else:
            messages.success(request, f"{site.name} is live.")
    return redirect("readiness_site", org=org, code=code)


@readiness_access
def checklist_templates(request, org):
    active = checklist_template_ensure(by=request.user)
    form = ChecklistVersionForm(request.POST or None, items=list(active.items.all()))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        add = []
        if data["new_key"] or data["new_title"]:
            add.append({"key": data["new_key"], "title": data["new_title"]})
        try:
            template = checklist_template_new_version(
                base=active, by=request.user, note=data["note"], add_items=add,
                remove_keys=data["remove"],
            )  # fmt: skip
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Version {template.version} drafted; activate it below.")
            return redirect("readiness_templates", org=org)
    templates = ChecklistTemplate.objects.prefetch_related("items").select_related("created_by")
    return render(
        request,
        "workforce/checklist_templates.html",
        {"templates": templates, "form": form, "active": active},
    )


@require_POST
@readiness_access
def checklist_template_activate_view(request, org, pk):
    template = ChecklistTemplate.objects.filter(pk=pk).first()
    if template is None:
        raise Http404("No such checklist version.")
    checklist_template_activate(template=template, by=request.user)
    messages.success(request, f"Version {template.version} is now the launch checklist.")
    return redirect("readiness_templates", org=org)


urlpatterns = [
    path("readiness/", readiness_list, name="readiness_list"),
    path("readiness/checklist/", checklist_templates, name="readiness_templates"),
    path(
        "readiness/checklist/<int:pk>/activate/",
        checklist_template_activate_view,
        name="readiness_template_activate",
    ),
    path("readiness/<slug:code>/", readiness_site, name="readiness_site"),
    path("readiness/<slug:code>/go-live/", readiness_go_live, name="readiness_go_live"),
    path(
        "readiness/<slug:code>/attest/<slug:key>/", readiness_attest_view, name="readiness_attest"
    ),
    path("readiness/<slug:code>/evidence/<int:pk>/", readiness_evidence, name="readiness_evidence"),
    path(
        "readiness/<slug:code>/withdraw/<int:pk>/",
        readiness_withdraw_view,
        name="readiness_withdraw",
    ),
]
