"""Site adaptations under /o/<org>/adaptations/: documented local variations of adaptable steps.

Org admins and implementation leads propose and decide; supervisors read those of their sites;
commissioners see counts per site and pathway only (what was adapted and why stays with the
people running the service)."""

from collections import defaultdict

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from pathways.models import Pathway, PathwayVersion, SiteAdaptation
from pathways.selectors import adaptations as selectors
from pathways.selectors.versions import step_names_in_use
from pathways.services import versions as services
from pathways.wording import step_name
from scaling_ops.access import ALL_ROLES, WRITE_ROLES, roles_required, site_for_member
from scaling_ops.forms import TEXT_MAX_LENGTH
from scaling_ops.models import Role
from scaling_ops.selectors import visible_sites
from scaling_ops.views_common import add_form_errors, csv_response, person_name

ADAPTERS = frozenset({Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD})
# The CSVs say what the pages say: names and sentences, not keys.
CSV_COLUMNS = [
    "Site",
    "Pathway",
    "Step",
    "Status",
    "What changes",
    "Why",
    "Proposed by",
    "Proposed",
    "Decided by",
    "Decided",
]
SUMMARY_COUNTS = ["proposed", "approved", "rejected", "withdrawn"]
SUMMARY_COLUMNS = ["Site", "Pathway", "Proposed", "Approved", "Rejected", "Withdrawn"]


class AdaptationFilterForm(forms.Form):
    site = forms.ChoiceField(required=False)
    pathway = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *SiteAdaptation.Status.choices]
    )
    q = forms.CharField(required=False, max_length=200, label="Step or text")

    def __init__(self, *args, sites, pathways, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All my sites")] + [(s.code, s.name) for s in sites]
        self.fields["pathway"].choices = [("", "All pathways")] + [
            (p.slug, p.name) for p in pathways
        ]

    def filters(self) -> selectors.AdaptationFilters:
        self.is_valid()  # invalid fields are left out of cleaned_data and so not applied
        data = getattr(self, "cleaned_data", {})
        return selectors.AdaptationFilters(
            **{name: data.get(name) or "" for name in selectors.AdaptationFilters.__annotations__}
        )


class ProposeForm(forms.Form):
    site = forms.ChoiceField()
    # Free text behind a select of the adaptable steps, so that a core or unknown step reaches
    # the service and gets its explanation rather than "select a valid choice".
    step = forms.CharField(label="Pathway step", max_length=100, widget=forms.Select)
    what = forms.CharField(
        label="What is done differently",
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="E.g. the weekly review is by phone every other week for people on the islands.",
    )
    why = forms.CharField(
        label="Why this site needs it",
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The local context: geography, workforce, population, partner services.",
    )
    standard_hours = forms.CharField(
        required=False,
        max_length=200,
        label="New time standards (hours)",
        help_text="What takes effect: the step's time standards in hours, in the step's order, "
        "separated by commas (e.g. 336 for a fortnightly review). Empty: unchanged.",
    )
    script = forms.CharField(
        required=False,
        max_length=4000,
        label="Local script",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What practitioners at this site say or use at this step; it joins the "
        "site's copy of the replication package. Empty: the package's own.",
    )

    def clean_standard_hours(self):
        text = self.cleaned_data["standard_hours"].strip()
        if not text:
            return []
        values = []
        for part in text.split(","):
            try:
                values.append(float(part.strip()))
            except ValueError:
                raise ValidationError(
                    f"{part.strip()!r} is not a number of hours; write e.g. 48, 336."
                ) from None
        return values

    def __init__(self, *args, sites, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]
        groups: dict[str, list] = {}  # one optgroup per pathway
        for s in steps:
            groups.setdefault(s.version.pathway.name, []).append(
                (f"{s.version.pathway.slug}:{s.key}", f"{s.name} ({s.key})")
            )
        self.fields["step"].widget.choices = list(groups.items())

    def clean_step(self):
        pathway_slug, _, step_key = self.cleaned_data["step"].partition(":")
        pathway = Pathway.objects.filter(slug=pathway_slug).first()
        if pathway is None or not step_key:
            raise ValidationError("Choose a pathway step from the list.")
        return pathway, step_key


def adapted_steps(membership, pathway) -> dict[str, list[str]]:
    """Step key -> codes of the member's sites with an approved adaptation of it."""
    sites = defaultdict(list)
    rows = SiteAdaptation.objects.filter(
        pathway=pathway,
        status=SiteAdaptation.Status.APPROVED,
        site__in=visible_sites(membership),
    ).values_list("step_key", "site__code")
    for step_key, code in rows.order_by("step_key", "site__code").distinct():
        sites[step_key].append(code)
    return dict(sites)


@roles_required(*ADAPTERS, read_roles=ALL_ROLES)
def adaptation_list(request, org):
    membership = request.membership
    if membership.role == Role.COMMISSIONER:
        return _summary(request)
    sites = list(visible_sites(membership).order_by("code"))
    pathways = list(Pathway.objects.order_by("name"))
    filter_form = AdaptationFilterForm(request.GET, sites=sites, pathways=pathways)
    filters = filter_form.filters()
    adaptations = selectors.site_adaptation_list(membership=membership, filters=filters)
    if request.GET.get("format") == "csv":
        return _csv(request, adaptations)
    steps = selectors.adaptable_steps()
    form = ProposeForm(
        request.POST if request.method == "POST" else None,
        sites=sites,
        steps=steps,
        auto_id="propose_%s",  # the filter form above has a site field too
    )
    if request.method == "POST" and form.is_valid():
        pathway, step_key = form.cleaned_data["step"]
        try:
            adaptation = services.site_adaptation_propose(
                site=site_for_member(request, form.cleaned_data["site"]),
                pathway=pathway,
                step_key=step_key,
                what=form.cleaned_data["what"],
                why=form.cleaned_data["why"],
                by=request.user,
                standard_hours=form.cleaned_data["standard_hours"],
                script=form.cleaned_data["script"],
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request,
                f"Adaptation of {step_key} at {adaptation.site.name} proposed; it applies once "
                "an org admin or implementation lead approves it.",
            )
            return redirect("adaptation_detail", org=org, pk=adaptation.pk)
    page = Paginator(adaptations, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    names = selectors.step_names_by_pathway(rows)
    for adaptation in rows:
        adaptation.step_name = names.get((adaptation.pathway_id, adaptation.step_key), "")
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter_form": filter_form,
        "form": form,
        "page": page,
        "rows": rows,
        "narrowed": any(vars(filters).values()),
        "query": query.urlencode(),
        "can_propose": membership.role in ADAPTERS,
        "has_adaptable_steps": bool(steps),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "pathways/adaptation_list.html", context, status=status)


def _summary(request) -> HttpResponse:
    rows = selectors.site_adaptation_summary(membership=request.membership)
    if request.GET.get("format") == "csv":
        return csv_response(
            f"adaptation-counts-{request.organization.slug}.csv",
            SUMMARY_COLUMNS,
            (
                [row["site__name"], row["pathway__name"]] + [row[name] for name in SUMMARY_COUNTS]
                for row in rows
            ),
        )
    return render(request, "pathways/adaptation_summary.html", {"rows": rows})


def _csv(request, adaptations) -> HttpResponse:
    step_names = step_names_in_use()
    return csv_response(
        f"site-adaptations-{request.organization.slug}.csv",
        CSV_COLUMNS,
        (
            [
                a.site.name,
                a.pathway.name,
                step_name(a.step_key, step_names),
                a.get_status_display(),
                a.what,
                a.why,
                person_name(a.proposed_by),
                a.created_at.isoformat(),
                person_name(a.decided_by),
                a.decided_at.isoformat() if a.decided_at else "",
            ]
            for a in adaptations.iterator(chunk_size=1000)
        ),
    )


def _adaptation_or_404(request, pk: int) -> SiteAdaptation:
    adaptation = selectors.site_adaptation_for_member(membership=request.membership, pk=pk)
    if adaptation is None:
        raise Http404("No such adaptation.")
    return adaptation


@roles_required(*ADAPTERS, read_roles=WRITE_ROLES)
def adaptation_detail(request, org, pk):
    adaptation = _adaptation_or_404(request, pk)
    names = selectors.step_names_by_pathway([adaptation])
    context = {
        "adaptation": adaptation,
        "variant": adaptation.pathway.versions.filter(
            variant_site=adaptation.site, status=PathwayVersion.Status.VARIANT
        ).first(),
        "step_name": names.get((adaptation.pathway_id, adaptation.step_key), ""),
        "history": selectors.site_adaptation_history(adaptation=adaptation)[:50],
        "can_decide": request.membership.role in ADAPTERS
        and adaptation.status == SiteAdaptation.Status.PROPOSED,
    }
    return render(request, "pathways/adaptation_detail.html", context)


@require_POST
@roles_required(*ADAPTERS)
def adaptation_decide(request, org, pk):
    adaptation = _adaptation_or_404(request, pk)
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "Choose approve or reject.")
        return redirect("adaptation_detail", org=org, pk=pk)
    try:
        services.site_adaptation_decide(
            adaptation=adaptation, approve=decision == "approve", by=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Adaptation of {adaptation.step_key} at {adaptation.site.name} "
            f"{adaptation.get_status_display().lower()}.",
        )
    return redirect("adaptation_detail", org=org, pk=pk)


urlpatterns = [
    path("adaptations/", adaptation_list, name="adaptation_list"),
    path("adaptations/<int:pk>/", adaptation_detail, name="adaptation_detail"),
    path("adaptations/<int:pk>/decide/", adaptation_decide, name="adaptation_decide"),
]
