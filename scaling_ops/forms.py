from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator

from scaling_ops.models import Role, Site

# The most a person types into one free-text box (a note, a reason, a description): long enough
# for a paragraph of evidence, short enough that a pasted document is refused by the form with a
# message instead of reaching a page or a history row whole.
TEXT_MAX_LENGTH = 5000


def site_choices(sites, blank: str = "All my sites") -> list[tuple[str, str]]:
    """A site filter's choices: blank for every site the member sees, then each site by code."""
    return [("", blank)] + [(site.code, site.name) for site in sites]


class SiteForm(forms.Form):
    code = forms.SlugField(max_length=40, help_text="Short code partners use, e.g. north.")
    name = forms.CharField(max_length=200)
    region = forms.CharField(max_length=120, required=False)


class SiteStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Site.Status.choices)
    override_reason = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Org admins only: why the site may move despite open readiness items.",
    )


class SitesField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(queryset=Site.dangerously_unscoped.none(), **kwargs)


class InvitationForm(forms.Form):
    email = forms.EmailField(max_length=254, help_text="The invitation link is emailed here.")
    role = forms.ChoiceField(choices=Role.choices)
    all_sites = forms.BooleanField(required=False, label="All sites")
    sites = SitesField(help_text="Org admins always see every site.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.order_by("code")


class MemberChangeForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    all_sites = forms.BooleanField(required=False, label="All sites")
    sites = SitesField(help_text="Org admins always see every site.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.order_by("code")


class InvitationSignupForm(forms.Form):
    """A new account for an invitee. Uniqueness is checked by the service, which answers a
    taken username like any unusable one."""

    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only; you log in with it.",
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ; type the same one twice.")
        return cleaned


class PartnerKeyForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="The partner system, e.g. North EHR.")
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.dangerously_unscoped.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.order_by("code")
