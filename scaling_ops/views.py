from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from scaling_ops import selectors, services
from scaling_ops.access import LEADS, member_required, roles_required, site_for_member
from scaling_ops.forms import (
    InvitationForm,
    InvitationSignupForm,
    MemberChangeForm,
    PartnerKeyForm,
    SiteForm,
    SiteStatusForm,
)
from scaling_ops.home import home_sections
from scaling_ops.models import Invitation, PartnerKey, Role
from scaling_ops.search import MAX_QUERY, search_clean, search_for_member
from scaling_ops.views_common import add_form_errors

ADMINS_ONLY = frozenset({Role.ORG_ADMIN})


@login_required
def root(request):
    memberships = list(selectors.memberships_for_user(user=request.user))
    if len(memberships) == 1:
        return redirect("org_home", org=memberships[0].organization.slug)
    return render(request, "scaling_ops/org_picker.html", {"memberships": memberships})


@member_required
@require_http_methods(["GET"])
def search(request, org):
    """The header's search box: cases by ref for roles that see cases, improvement actions,
    proposals and contracts by title, each as far as the member may open it."""
    query, message = search_clean(request.GET.get("q", ""))
    results = search_for_member(membership=request.membership, query=query) if query else []
    return render(
        request,
        "scaling_ops/search.html",
        {"query": request.GET.get("q", "")[:MAX_QUERY], "message": message, "results": results},
    )


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
    form = InvitationForm(request.POST or None)
    new_link = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation, token = services.invitation_create(
                email=data["email"],
                role=data["role"],
                all_sites=data["all_sites"],
                sites=data["sites"],
                created_by=request.user,
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            new_link = request.build_absolute_uri(reverse("invitation_open", args=[token]))
            if services.invitation_email_send(invitation=invitation, link=new_link):
                messages.success(
                    request,
                    f"Invitation emailed to {invitation.email}. The link is below too: "
                    "copy it now, it is shown once.",
                )
            else:
                messages.warning(
                    request,
                    f"The invitation to {invitation.email} is ready but the email could not be "
                    "sent. Copy the link below and send it yourself: it is shown once.",
                )
            form = InvitationForm()
    response = render(
        request,
        "scaling_ops/membership_list.html",
        {
            "memberships": selectors.membership_list(),
            "invitations": selectors.invitation_list_pending(),
            "activity": selectors.membership_activity(),
            "form": form,
            "new_link": new_link,
        },
    )
    if new_link:
        # The link is a credential shown once: no browser or proxy cache may keep the page.
        add_never_cache_headers(response)
    return response


def _membership_or_404(pk: int):
    membership = selectors.membership_for_member_page(pk=pk)
    if membership is None:
        raise Http404("No such member.")
    return membership


@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def membership_detail(request, org, pk):
    membership = _membership_or_404(pk)
    sites = [] if membership.sees_all_sites else list(selectors.site_list(membership=membership))
    form = MemberChangeForm(
        request.POST or None,
        initial={"role": membership.role, "all_sites": membership.all_sites, "sites": sites},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.membership_set(
                user=membership.user,
                organization=request.organization,
                role=data["role"],
                all_sites=data["all_sites"],
                sites=data["sites"],
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request, f"{membership.user.get_username()} is now {Role(data['role']).label}."
            )
            return redirect("membership_list", org=org)
    return render(
        request, "scaling_ops/membership_detail.html", {"member": membership, "form": form}
    )


@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def membership_notices(request, org, pk):
    """An org admin sets a member's notice preferences (a commissioner cannot: they write
    nothing), with the history of who changed them."""
    from scaling_ops import notifications
    from scaling_ops.views_notices import NoticePreferenceForm

    membership = _membership_or_404(pk)
    preference = notifications.notice_preference_for(user=membership.user)
    form = NoticePreferenceForm(
        request.POST if request.method == "POST" else None,
        role=membership.role,
        initial={"email_off": preference.email_off, "digest_hour": preference.digest_hour},
    )
    form.fields["email_off"].label = "Do not email them about"
    if request.method == "POST" and form.is_valid():
        try:
            notifications.notice_preference_set(
                user=membership.user, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(
                request, f"Notice preferences of {membership.user.get_username()} saved."
            )
            return redirect("membership_notices", org=org, pk=pk)
    history = (
        preference.history.select_related("history_user").order_by("-history_date")[:20]
        if preference.pk
        else []
    )
    return render(
        request,
        "scaling_ops/membership_notices.html",
        {"member": membership, "form": form, "history": history},
        status=400 if form.is_bound else 200,
    )


@require_POST
@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def membership_remove(request, org, pk):
    membership = _membership_or_404(pk)
    name = membership.user.get_username()
    try:
        services.membership_remove(membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{name} is no longer a member of {request.organization.name}.")
    return redirect("membership_list", org=org)


@require_POST
@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def invitation_revoke(request, org, pk):
    invitation = Invitation.objects.filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    try:
        services.invitation_revoke(invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"The invitation to {invitation.email} is revoked; its link no longer works."
        )
    return redirect("membership_list", org=org)


def invitation_open(request, token):
    """Outside ``/o/<org>/``: the invitee is not a member yet. Everything shown comes from the
    invitation the token opens; an unknown, expired, used or revoked token gets one answer."""
    invitation = selectors.invitation_for_token(token=token)
    if invitation is None:
        return _invitation_unusable(request)
    signing_up = request.method == "POST" and not request.user.is_authenticated
    form = InvitationSignupForm(request.POST if signing_up else None)
    if request.method == "POST" and (request.user.is_authenticated or form.is_valid()):
        try:
            if signing_up:
                user = services.invitation_accept_with_new_account(
                    invitation=invitation,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                )
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            else:
                services.invitation_accept(invitation=invitation, user=request.user)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                add_form_errors(form, error)
            elif error.messages == [services.INVITATION_UNUSABLE]:
                return _invitation_unusable(request)
            else:
                messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Welcome to {invitation.organization.name}: you are now "
                f"{invitation.get_role_display()}.",
            )
            return redirect("org_home", org=invitation.organization.slug)
    return render(
        request,
        "scaling_ops/invitation.html",
        {"invitation": invitation, "form": form},
    )


def _invitation_unusable(request):
    return render(
        request,
        "scaling_ops/invitation_unusable.html",
        {"message": services.INVITATION_UNUSABLE},
        status=404,
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


@require_http_methods(["GET", "POST"])
@roles_required(Role.ORG_ADMIN, read_roles=ADMINS_ONLY)
def partner_key_revoke(request, org, pk):
    """Asks first, on a page of its own so it works without JavaScript: a revoked key cannot be
    restored and the partner's calls fail at once. Only a POST carrying the confirm step revokes."""
    key = PartnerKey.objects.filter(pk=pk).prefetch_related("sites").first()
    if key is None:
        raise Http404("No such key.")
    if request.method == "POST" and request.POST.get("confirm") == "revoke" and key.is_active:
        services.partner_key_revoke(key=key)
        messages.success(request, f"Key {key.name} revoked; calls with it now get 401.")
        return redirect("partner_key_list", org=org)
    return render(request, "scaling_ops/partner_key_revoke.html", {"key": key})
