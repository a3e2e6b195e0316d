from django import forms
from django.core.exceptions import ValidationError

from assurance.models import (
    AssuranceSettings,
    AuditRecord,
    AuditSample,
    ComparatorBaseline,
    DriftSignal,
    Incident,
)
from assurance.services import month_parse
from scaling_ops.forms import (
    TEXT_MAX_LENGTH,
    PlausibleDateField,
    PlausibleDateTimeField,
    bounded_formfield,
    site_choices,
)

ANSWER_CHOICES = [("", "—"), *AuditRecord.Answer.choices]


class SiteMonthFilter(forms.Form):
    """The filter of the lists kept per site and month (audit samples, snapshots)."""

    site = forms.ChoiceField(required=False)
    month = forms.CharField(required=False, max_length=7, help_text="YYYY-MM")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites)

    def clean_month(self):
        value = self.cleaned_data["month"].strip()
        if not value:
            return None
        try:
            return month_parse(value)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None


class AuditRecordForm(forms.Form):
    documentation_complete = forms.ChoiceField(
        choices=ANSWER_CHOICES, label="Documentation complete"
    )
    steps_evidenced = forms.ChoiceField(choices=ANSWER_CHOICES, label="Steps evidenced")
    escalation_appropriate = forms.ChoiceField(
        choices=ANSWER_CHOICES, label="Escalation appropriate"
    )
    notes = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )


class AuditDrawForm(forms.Form):
    site = forms.ChoiceField()
    month = forms.CharField(help_text="YYYY-MM", max_length=7)
    kind = forms.ChoiceField(choices=AuditSample.Kind.choices)
    size = forms.IntegerField(
        min_value=1, max_value=200, required=False, help_text="Blank: the setting."
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Blank: a fresh random seed, recorded with the sample.",
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]


class IncidentForm(forms.Form):
    site = forms.ChoiceField()
    kind = forms.ChoiceField(choices=Incident.Kind.choices)
    category = forms.ChoiceField(
        required=False,
        choices=Incident.Category.choices,
        initial=Incident.Category.GENERAL,
        help_text="Safeguarding incidents are counted apart for contracts.",
    )
    severity = forms.ChoiceField(choices=Incident.Severity.choices)
    occurred_at = PlausibleDateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Organisation local time.",
    )
    summary = forms.CharField(max_length=200)
    failed_steps = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Step(s) where it failed"
    )
    case_ref = forms.CharField(required=False, max_length=100, label="Case (optional)")
    description = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, sites, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]
        self.fields["failed_steps"].choices = list(steps)


class IncidentReviewForm(forms.Form):
    review_status = forms.ChoiceField(choices=Incident.Review.choices)
    review_outcome = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    failed_steps = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Step(s) where it failed"
    )
    improvement_action_ref = forms.CharField(
        required=False,
        max_length=100,
        label="Improvement action",
        help_text="Reference of the improvement action (the learning app will fill this in).",
    )

    def __init__(self, *args, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["failed_steps"].choices = list(steps)


class DriftResponseForm(forms.Form):
    coaching = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Targeted coaching",
    )
    extra_supervision = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Extra supervision",
    )
    reaudit_until = PlausibleDateField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Re-audit window ends",
    )
    status = forms.ChoiceField(
        choices=[
            (s, label)
            for s, label in DriftSignal.Status.choices
            if s != DriftSignal.Status.WITHDRAWN
        ]
    )
    improvement_action_ref = forms.CharField(
        required=False,
        max_length=100,
        label="Improvement action",
        help_text="Reference of the improvement action (the learning app will fill this in).",
    )


class BaselineForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=ComparatorBaseline.Kind.choices)
    site = forms.ChoiceField(required=False)
    period = forms.CharField(max_length=60, required=False)
    source = forms.CharField(max_length=200, required=False)
    rate_low = forms.FloatField(min_value=0, max_value=100, label="Low tier rate %")
    population_low = forms.IntegerField(min_value=1, max_value=10**9, label="Low tier population")
    rate_medium = forms.FloatField(min_value=0, max_value=100, label="Medium tier rate %")
    population_medium = forms.IntegerField(
        min_value=1, max_value=10**9, label="Medium tier population"
    )
    rate_high = forms.FloatField(min_value=0, max_value=100, label="High tier rate %")
    population_high = forms.IntegerField(min_value=1, max_value=10**9, label="High tier population")
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites, "Every site")


class BaselineImportForm(forms.Form):
    file = forms.FileField(help_text="CSV: name,kind,site,period,source,risk_tier,rate,population")


class SettingsForm(forms.ModelForm):
    adverse_outcomes = forms.CharField(
        max_length=1000, help_text="Outcome codes counted as adverse, separated by commas."
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = AssuranceSettings
        fields = [
            "equity_margin",
            "equity_widening_months",
            "drift_margin",
            "min_denominator",
            "audit_sample_size",
            "reaudit_window_days",
            "surge_factor",
            "vacancy_threshold",
            "stability_window_months",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["adverse_outcomes"] = ", ".join(self.instance.adverse_outcomes or [])
