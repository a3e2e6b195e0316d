"""Pathway pages under /o/<org>/pathways/: the list of pathways and their versions, a version as
a readable workflow with its history, JSON download and upload, activation, and the diff between
two versions. Site adaptations live in pathways.views.adaptations (included below).

Every member may read pathway definitions (commissioners too: there is no case data in them);
only org admins import, activate and retire versions."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from pathways import version_panels
from pathways.definitions import DefinitionError
from pathways.models import PathwayVersion
from pathways.package import package_missing_parts
from pathways.selectors import versions as selectors
from pathways.services import versions as services
from pathways.views import adaptations
from scaling_ops.access import roles_required
from scaling_ops.forms import TEXT_MAX_LENGTH
from scaling_ops.models import Role
from scaling_ops.views_common import csv_response, person_name

# Pathway definitions are organisation-wide and hold no case data: every member reads them
# (roles_required's default read roles); writes are the org admin's.
ADMINS = frozenset({Role.ORG_ADMIN})
MAX_UPLOAD_BYTES = 1_000_000
# The CSV says what the page says: names and sentences, not keys.
CSV_COLUMNS = [
    "Pathway short name",
    "Pathway",
    "Version",
    "Status",
    "Created",
    "Created by",
    "Activated",
    "Cases in your sites",
    "Rationale",
]


class PathwayFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or slug")
    status = forms.ChoiceField(
        required=False,
        label="Has a version that is",
        choices=[("", "Any status"), *PathwayVersion.Status.choices],
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        required=False,
        label="Definition file (.json)",
        help_text="Exported from this or another organisation.",
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )
    definition = forms.CharField(
        required=False,
        max_length=MAX_UPLOAD_BYTES,
        label="…or paste the JSON",
        strip=False,  # keep line numbers of JSON errors where the person sees them
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
    )
    rationale = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        label="Why this version",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The change proposal, evidence or decision behind it; kept with the version.",
    )
    activate = forms.BooleanField(
        required=False,
        label="Activate now",
        help_text="New cases follow it at once; the active version retires. Cases already "
        "referred stay on their version.",
    )

    def clean(self):
        data = super().clean()
        upload, pasted = data.get("file"), data.get("definition") or ""
        if bool(upload) == bool(pasted.strip()):
            raise ValidationError("Choose a file or paste the JSON (one of them, not both).")
        if upload:
            if upload.size > MAX_UPLOAD_BYTES:
                raise ValidationError(
                    f"The file is {upload.size:,} bytes; a definition is at most "
                    f"{MAX_UPLOAD_BYTES:,}."
                )
            try:
                pasted = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationError(
                    "The file is not UTF-8 text; export it again as JSON."
                ) from None
        data["text"] = pasted
        return data


def json_errors(text: str) -> tuple[object, list[tuple[str, str]]]:
    """The parsed JSON, or the parse error as a (path, message) pair the way definitions report."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as error:
        return None, [("(json)", f"line {error.lineno}, column {error.colno}: {error.msg}")]


def _pathway_or_404(slug: str):
    pathway = selectors.pathway_get(slug=slug)
    if pathway is None:
        raise Http404("No such pathway.")
    return pathway


def _version_or_404(slug: str, number: int) -> PathwayVersion:
    version = selectors.pathway_version_get(pathway=_pathway_or_404(slug), number=number)
    if version is None:
        raise Http404("No such version.")
    return version


def _version_url(version: PathwayVersion) -> tuple[str, dict]:
    return "version_detail", {"pathway": version.pathway.slug, "number": version.number}


@roles_required(*ADMINS)
def pathway_list(request, org):
    form = PathwayFilterForm(request.GET)
    form.is_valid()
    filters = {name: form.cleaned_data.get(name) or "" for name in ("q", "status")}
    pathways = selectors.pathway_list(**filters)
    if request.GET.get("format") == "csv":
        return _csv(request, pathways)
    page = Paginator(pathways, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.attach_versions(list(page.object_list), membership=request.membership)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "pathways": rows,
        "narrowed": any(filters.values()),
        "query": query.urlencode(),
        "can_import": request.membership.role in ADMINS,
    }
    return render(request, "pathways/pathway_list.html", context)


def _csv(request, pathways) -> HttpResponse:
    versions = selectors.pathway_versions_with_counts(
        membership=request.membership, pathway_ids=pathways.values("pk")
    )
    return csv_response(
        f"pathway-versions-{request.organization.slug}.csv",
        CSV_COLUMNS,
        (
            [
                version.pathway.slug,
                version.pathway.name,
                version.number,
                version.get_status_display(),
                version.created_at.isoformat(),
                person_name(version.created_by),
                version.activated_at.isoformat() if version.activated_at else "",
                version.case_count,
                version.rationale,
            ]
            for version in versions
        ),
    )


@roles_required(*ADMINS)
def pathway_detail(request, org, pathway):
    """A pathway's address opens its active version (else its latest)."""
    version = selectors.pathway_version_current(pathway=_pathway_or_404(pathway))
    if version is None:
        raise Http404("This pathway has no versions.")
    name, kwargs = _version_url(version)
    return redirect(name, org=org, **kwargs)


@roles_required(*ADMINS)
def version_detail(request, org, pathway, number):
    version = _version_or_404(pathway, number)
    workflow = selectors.pathway_version_workflow(version=version)
    siblings = list(version.pathway.versions.order_by("-number").only("number", "status"))
    previous = next((v for v in siblings if v.number < version.number), None)
    adapted = adaptations.adapted_steps(request.membership, version.pathway)
    context = {
        "version": version,
        "pathway": version.pathway,
        "workflow": workflow,
        "adapted": adapted,
        "steps": [(step, adapted.get(step.key, [])) for step in workflow.steps],
        "siblings": siblings,
        "previous": previous,
        "case_count": selectors.pathway_version_case_count(
            version=version, membership=request.membership
        ),
        "history": selectors.pathway_version_history(version=version)[:50],
        "is_admin": request.membership.role in ADMINS,
        "panels": version_panels.panels_for(request, version),
        "site_variants": selectors.pathway_version_site_variants(version=version),
        "pilots": selectors.pathway_version_pilots(version=version),
        "package_missing": package_missing_parts(
            version.package, step_keys=[step.key for step in workflow.steps]
        ),
    }
    return render(request, "pathways/version_detail.html", context)


@roles_required(*ADMINS)
def version_package(request, org, pathway, number):
    """The replication package as one printable document (print to PDF from the browser)."""
    version = _version_or_404(pathway, number)
    workflow = selectors.pathway_version_workflow(version=version)
    package = version.package or {}
    documentation = package.get("documentation", {})
    context = {
        "version": version,
        "pathway": version.pathway,
        "package": package,
        "templates": [(step, documentation.get(step.key, {})) for step in workflow.steps],
        "missing": package_missing_parts(package, step_keys=[s.key for s in workflow.steps]),
    }
    return render(request, "pathways/version_package.html", context)


@roles_required(*ADMINS)
def version_export(request, org, pathway, number):
    version = _version_or_404(pathway, number)
    body = json.dumps(selectors.pathway_version_bundle(version), indent=2, ensure_ascii=False)
    body += "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"{version.pathway.slug}-v{version.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@roles_required(*ADMINS, read_roles=ADMINS)
def version_import(request, org):
    bound = request.method == "POST"
    form = ImportForm(request.POST if bound else None, request.FILES if bound else None)
    errors: list[tuple[str, str]] = []
    if request.method == "POST" and form.is_valid():
        data, errors = json_errors(form.cleaned_data["text"])
        if not errors:
            try:
                version = services.pathway_version_import(
                    data=data,
                    created_by=request.user,
                    activate=form.cleaned_data["activate"],
                    rationale=form.cleaned_data["rationale"],
                )
            except DefinitionError as error:
                errors = error.errors
            except ValidationError as error:
                errors = [("(version)", message) for message in error.messages]
            else:
                state = "active" if version.status == PathwayVersion.Status.ACTIVE else "a draft"
                messages.success(request, f"Imported {version} as {state}.")
                name, kwargs = _version_url(version)
                return redirect(name, org=org, **kwargs)
    status = 400 if errors or form.errors else 200
    context = {"form": form, "errors": errors}
    return render(request, "pathways/version_import.html", context, status=status)


def _change_status(request, org, pathway, number, action, done: str):
    version = _version_or_404(pathway, number)
    try:
        action(version=version, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{version} {done}.")
    name, kwargs = _version_url(version)
    return redirect(name, org=org, **kwargs)


@require_POST
@roles_required(*ADMINS)
def version_activate(request, org, pathway, number):
    return _change_status(
        request,
        org,
        pathway,
        number,
        services.pathway_version_activate,
        "is active: new cases follow it; cases already referred keep their version",
    )


@require_POST
@roles_required(*ADMINS)
def version_retire(request, org, pathway, number):
    return _change_status(
        request, org, pathway, number, services.pathway_version_retire, "is retired"
    )


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@roles_required(*ADMINS)
def version_diff(request, org, pathway):
    pathway = _pathway_or_404(pathway)
    versions = list(pathway.versions.select_related("pathway").order_by("-number"))
    by_number = {v.number: v for v in versions}
    # By default: what the newest version would change against the active one (or, when the
    # newest is active, what it changed against the version before it).
    active = next((v for v in versions if v.status == PathwayVersion.Status.ACTIVE), None)
    new = by_number.get(_number(request.GET.get("new"))) or (versions[0] if versions else None)
    old = by_number.get(_number(request.GET.get("old")))
    if old is None and new is not None:
        if active is not None and active.number != new.number:
            old = active
        else:
            old = next((v for v in versions if v.number < new.number), None)
    context = {"pathway": pathway, "versions": versions, "old": old, "new": new, "changes": None}
    if old and new:
        context["changes"] = selectors.pathway_version_diff(old=old, new=new)
    return render(request, "pathways/version_diff.html", context)


urlpatterns = [
    path("pathways/", pathway_list, name="pathway_list"),
    path("pathways/import/", version_import, name="version_import"),
    path("pathways/<slug:pathway>/", pathway_detail, name="pathway_detail"),
    path("pathways/<slug:pathway>/diff/", version_diff, name="version_diff"),
    path("pathways/<slug:pathway>/v<int:number>/", version_detail, name="version_detail"),
    path("pathways/<slug:pathway>/v<int:number>/package/", version_package, name="version_package"),
    path(
        "pathways/<slug:pathway>/v<int:number>/definition.json",
        version_export,
        name="version_export",
    ),
    path(
        "pathways/<slug:pathway>/v<int:number>/activate/",
        version_activate,
        name="version_activate",
    ),
    path("pathways/<slug:pathway>/v<int:number>/retire/", version_retire, name="version_retire"),
    *adaptations.urlpatterns,
]
