"""The in-app inbox: a person's own notices, the unread count in the header, preferences."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from scaling_ops import notifications
from scaling_ops.access import WRITE_ROLES, member_required, roles_required
from scaling_ops.views_common import add_form_errors, page_of

HOURS = [(hour, f"{hour:02d}:00") for hour in range(24)]


class NoticePreferenceForm(forms.Form):
    email_off = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Do not email me about",
        help_text="Your inbox keeps every notice; ticked kinds are not emailed.",
    )
    digest_hour = forms.TypedChoiceField(
        choices=HOURS, coerce=int, label="Make my daily digest from",
        help_text="Your organisation's local time.",
    )  # fmt: skip

    def __init__(self, *args, role: str, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = notifications.notice_kinds(role)
        self.fields["email_off"].choices = [(kind.code, kind.label) for kind in kinds]
        if notifications.DIGEST_KIND not in {kind.code for kind in kinds}:
            del self.fields["digest_hour"]  # no digest reaches this role: its hour is moot


@member_required
def notice_inbox(request, org):
    unread_only = request.GET.get("show") == "unread"
    notices = notifications.notice_list(user=request.user, unread_only=unread_only)
    page, query = page_of(request, notices, size=25)
    return render(
        request,
        "scaling_ops/notice_inbox.html",
        {
            "page": page,
            "query": query,
            "unread_only": unread_only,
            "unread": notifications.notice_unread_count(user=request.user),
        },
    )


@member_required
def notice_open(request, org, pk):
    """Following a notice marks it read (any role: it is the person's own reading state, not
    the organisation's data) and goes to the thing it is about."""
    notice = notifications.notice_for_user(user=request.user, pk=pk)
    if notice is None:
        raise Http404("No such notice.")
    if notice.read_at is None:
        notifications.notices_mark_read(user=request.user, pks=[notice.pk])
    shown = reverse("notice_detail", kwargs={"org": org, "pk": notice.pk})
    target = notice.url or shown
    if not target.startswith(f"/o/{org}/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts=None
    ):
        target = shown
    return redirect(target)


@member_required
def notice_detail(request, org, pk):
    notice = notifications.notice_for_user(user=request.user, pk=pk)
    if notice is None:
        raise Http404("No such notice.")
    if notice.read_at is None:
        notifications.notices_mark_read(user=request.user, pks=[notice.pk])
        notice.read_at = timezone.now()
    return render(request, "scaling_ops/notice_detail.html", {"notice": notice})


@roles_required(*WRITE_ROLES)
def notice_mark_read(request, org):
    if request.method != "POST":
        return redirect("notice_inbox", org=org)
    raw = request.POST.getlist("notice")
    pks = [int(value) for value in raw if value.isdigit()] if raw else None
    count = notifications.notices_mark_read(user=request.user, pks=pks)
    messages.success(request, f"{count} notice{'s' if count != 1 else ''} marked read.")
    return redirect("notice_inbox", org=org)


@never_cache
@member_required
def notice_unread_badge(request, org):
    """The header's unread count, fetched by the header after the page (so no page pays a query
    for it)."""
    count = notifications.notice_unread_count(user=request.user)
    return render(request, "scaling_ops/_notice_badge.html", {"unread": count})


@roles_required(*WRITE_ROLES)
def notice_preferences(request, org):
    """One's own preferences. A read-only member (a commissioner) writes nothing, here too:
    they see their settings and who can change them (the org admins, on the members page)."""
    preference = notifications.notice_preference_for(user=request.user)
    if request.membership.is_read_only:
        return render(
            request,
            "scaling_ops/notice_preferences_read_only.html",
            {"preference": preference,
             **preference_summary(preference, role=request.membership.role),
             "admins": notifications.organization_admin_names()},
        )  # fmt: skip
    form = NoticePreferenceForm(
        request.POST or None,
        role=request.membership.role,
        initial={"email_off": preference.email_off, "digest_hour": preference.digest_hour},
    )
    if request.method == "POST" and form.is_valid():
        try:
            notifications.notice_preference_set(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, "Your notice preferences are saved.")
            return redirect("notice_preferences", org=org)
    return render(request, "scaling_ops/notice_preferences.html", {"form": form})


def preference_summary(preference, *, role: str) -> dict:
    """The kinds a member of ``role`` can receive, emailed and not, in words, and the digest
    hour where a digest reaches them."""
    kinds = notifications.notice_kinds(role)
    digest = notifications.DIGEST_KIND in {kind.code for kind in kinds}
    return {
        "emailed": [kind.label for kind in kinds if kind.code not in preference.email_off],
        "not_emailed": [kind.label for kind in kinds if kind.code in preference.email_off],
        "digest_at": f"{preference.digest_hour:02d}:00" if digest else "",
    }
