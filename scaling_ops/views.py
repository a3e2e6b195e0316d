from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from scaling_ops import selectors, services
from scaling_ops.access import member_required, roles_required, site_for_member
from scaling_ops.forms import MembershipForm, PartnerKeyForm, SiteForm, SiteStatusForm
from scaling_ops.home import home_sections
from scaling_ops.models import PartnerKey, Role

LEADS = (Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD)
ADMINS_ONLY = frozenset({Role.ORG_ADMIN})


def add_form_errors(form, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


@login_required
def root(request):
    memberships = list(selectors.memberships_for_user(user=request.user))
    if len(memberships) == 1:
        return redirect("org_home", org=memberships[0].organization.slug)
    return render(request, "scaling_ops/org_picker.html", {"memberships": memberships})


@member_required
def org_home(request, org):
    return render(
        request, "scaling_ops/home.html", {"sections": home_sections(request, request.membership)}
    )


@roles_required(*LEADS)
def site_list(request, org):
    form = SiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.site_create(**form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Site {site.code} created as planned.")
            return redirect("site_detail", org=org, code=site.code)
    sites = selectors.site_list(membership=request.membership)
    return render(request, "scaling_ops/site_list.html", {"sites": sites, "form": form})


@roles_required(*LEADS)
def site_detail(request, org, code):
    site = site_for_member(request, code)
    form = SiteStatusForm(request.POST or None, initial={"status": site.status})
    if request.method == "POST" and form.is_valid():
        override = form.cleaned_data["override_reason"].strip()
        if override and request.membership.role != Role.ORG_ADMIN:
            form.add_error("override_reason", "Only an org admin may override readiness.")
        else:
            try:
                services.site_change_status(
                    site=site, status=form.cleaned_data["status"], override_reason=override
                )
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, f"{site.name} is now {site.get_status_display()}.")
                return redirect("site_detail", org=org, code=code)
    history = site.history.select_related("history_user").order_by("-history_date")[:50]
    return render(
        request, "scaling_ops/site_detail.html", {"site": site, "form": form, "history": history}
    )


@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def membership_list(request, org):
    form = MembershipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.membership_set(
            user=data["username"],
            organization=request.organization,
            role=data["role"],
            all_sites=data["all_sites"],
            sites=data["sites"],
        )
        messages.success(request, f"{data['username']} is now {data['role']}.")
        return redirect("membership_list", org=org)
    return render(
        request,
        "scaling_ops/membership_list.html",
        {"memberships": selectors.membership_list(), "form": form},
    )


# The page shows a new key once: no browser or proxy may keep a copy of it.
@never_cache
@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def partner_key_list(request, org):
    form = PartnerKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            key, new_key = services.partner_key_create(
                name=form.cleaned_data["name"],
                sites=form.cleaned_data["sites"],
                created_by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Key {key.name} created. Copy it now: it is shown once.")
            form = PartnerKeyForm()
    return render(
        request,
        "scaling_ops/partner_key_list.html",
        {"keys": selectors.partner_key_list(), "form": form, "new_key": new_key},
    )


@require_POST
@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def partner_key_revoke(request, org, pk):
    key = PartnerKey.objects.filter(pk=pk).first()
    if key is None:
        raise Http404("No such key.")
    services.partner_key_revoke(key=key)
    messages.success(request, f"Key {key.name} revoked; calls with it now get 401.")
    return redirect("partner_key_list", org=org)
