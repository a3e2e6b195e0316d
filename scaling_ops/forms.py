from django import forms
from django.contrib.auth import get_user_model

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


class MembershipForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="An existing user account.")
    role = forms.ChoiceField(choices=Role.choices)
    all_sites = forms.BooleanField(required=False, label="All sites")
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.dangerously_unscoped.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.order_by("code")

    def clean_username(self):
        username = self.cleaned_data["username"]
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(
                f"No user called {username!r}; ask an operator to create it."
            )
        return user


class PartnerKeyForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="The partner system, e.g. North EHR.")
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.dangerously_unscoped.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = Site.objects.order_by("code")
