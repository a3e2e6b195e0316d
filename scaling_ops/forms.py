from datetime import date, datetime, timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from scaling_ops.models import Role, Site

# The most a person types into one free-text box (a note, a reason, a description): long enough
# for a paragraph of evidence, short enough that a pasted document is refused by the form with a
# message instead of reaching a page or a history row whole.
TEXT_MAX_LENGTH = 5000
# A password is hashed whole on every attempt: long enough for any passphrase manager, short
# enough that a megabyte posted to the login page is refused before it is hashed.
PASSWORD_MAX_LENGTH = 1024


# The earliest date a person may type, as for partners' times (pathways/plausible_time.py).
EARLIEST_PLAUSIBLE_DATE = date(1900, 1, 1)
# A person's clock and the organisation's day can differ by a day around midnight.
TODAY_SLACK = timedelta(days=1)


def _plausible_date_error(earliest: date, latest: date) -> ValidationError:
    return ValidationError(
        f"Enter a date between {earliest:%-d %b %Y} and {latest:%-d %b %Y}.", code="implausible"
    )


class PlausibleDateField(forms.DateField):
    """A date a person types, inside a window: a year typo (0206, 9999) is named on the form
    instead of being stored and later overflowing the date arithmetic of a check that runs for the
    whole organisation (a training expiry, a supervision interval).

    ``happened=True`` is for something that has taken place (held on, completed on): at most
    today. Otherwise the date may lie up to ``years_ahead`` years ahead (a deadline, a period)."""

    def __init__(self, *, happened: bool = False, years_ahead: int = 5, **kwargs):
        self.happened = happened
        self.years_ahead = years_ahead
        super().__init__(**kwargs)

    def latest(self) -> date:
        today = timezone.localdate()
        if self.happened:
            return today + TODAY_SLACK
        return today.replace(year=today.year + self.years_ahead, day=min(today.day, 28))

    def validate(self, value):
        super().validate(value)
        if value is not None and not EARLIEST_PLAUSIBLE_DATE <= value <= self.latest():
            raise _plausible_date_error(EARLIEST_PLAUSIBLE_DATE, self.latest())


class PlausibleDateTimeField(forms.DateTimeField):
    """A moment that has taken place (an incident), typed by a person: 1900 to now."""

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        earliest = timezone.make_aware(
            datetime.combine(EARLIEST_PLAUSIBLE_DATE, datetime.min.time())
        )
        latest = timezone.now() + TODAY_SLACK
        if not earliest <= value <= latest:
            raise _plausible_date_error(earliest.date(), timezone.localtime(latest).date())


# The database's own ranges: a number past them is a 500 from PostgreSQL, not a message.
_INTEGER_RANGES = {
    models.PositiveSmallIntegerField: (0, 32767),
    models.SmallIntegerField: (-32768, 32767),
    models.PositiveIntegerField: (0, 2147483647),
    models.IntegerField: (-2147483648, 2147483647),
}


def _declared_bound(model_field, validator_class):
    for validator in model_field._validators:
        if isinstance(validator, validator_class):
            return validator.limit_value
    return None


def _storable_range(model_field):
    if isinstance(model_field, models.DecimalField):
        largest = Decimal(10) ** (model_field.max_digits - model_field.decimal_places)
        step = Decimal(10) ** -model_field.decimal_places
        return -(largest - step), largest - step
    for field_class, bounds in _INTEGER_RANGES.items():
        if isinstance(model_field, field_class):
            return bounds
    return None, None


def bounded_formfield(model_field, **kwargs):
    """A ModelForm's field for a model field, with the window every typed value has: dates in
    the plausible window, numbers inside the model's declared validators or else the range the
    database can store. Every ModelForm's ``Meta`` names it as ``formfield_callback``; a form that
    knows better declares the field itself."""
    if isinstance(model_field, models.DateTimeField):
        kwargs.setdefault("form_class", PlausibleDateTimeField)
    elif isinstance(model_field, models.DateField):
        kwargs.setdefault("form_class", PlausibleDateField)
    elif isinstance(model_field, models.IntegerField | models.DecimalField | models.FloatField):
        least, most = _storable_range(model_field)
        declared_least = _declared_bound(model_field, MinValueValidator)
        declared_most = _declared_bound(model_field, MaxValueValidator)
        kwargs.setdefault("min_value", declared_least if declared_least is not None else least)
        kwargs.setdefault("max_value", declared_most if declared_most is not None else most)
    return model_field.formfield(**kwargs)


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
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
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
