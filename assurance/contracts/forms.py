"""Forms of the contract pages: they parse and validate input; the services store it."""

from django import forms
from django.contrib.auth import get_user_model

from assurance.contracts.models import (
    Contract,
    ContractSite,
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    PaymentBand,
    PerformanceTerm,
    ProtectedComponent,
)
from assurance.models import MetricDefinition
from pathways.models import Pathway, PathwayVersion, Step
from scaling_ops.forms import TEXT_MAX_LENGTH, bounded_formfield
from scaling_ops.models import Membership, Role, Site

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _members(*roles):
    ids = Membership.objects.filter(role__in=roles).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("username")


class ContractFilter(forms.Form):
    county = forms.ChoiceField(required=False)
    current = forms.ChoiceField(
        required=False,
        label="Period",
        choices=[("", "Any"), ("in_force", "In force today"), ("ended", "Ended")],
    )

    def __init__(self, *args, counties, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["county"].choices = [("", "Every county")] + [(c, c) for c in counties]


class ContractForm(forms.ModelForm):
    pathways = forms.ModelMultipleChoiceField(
        queryset=Pathway.dangerously_unscoped.none(), widget=forms.CheckboxSelectMultiple
    )
    commissioners = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Commissioner members who may read this contract (for the sites they hold).",
    )
    notes = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = Contract
        fields = [
            "reference",
            "name",
            "commissioner_name",
            "county",
            "period_start",
            "period_end",
            "pathways",
            "commissioners",
            "notes",
        ]
        widgets = {
            "period_start": DATE,
            "period_end": DATE,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pathways"].queryset = Pathway.objects.order_by("name")
        self.fields["commissioners"].queryset = _members(Role.COMMISSIONER)

    def validate_unique(self):
        """The service reports duplicates (the organisation is not a form field)."""


class ContractSiteForm(forms.ModelForm):
    # Tenant querysets are set per request: a class-level one would query with no tenant bound.
    site = forms.ModelChoiceField(queryset=Site.dangerously_unscoped.none())

    class Meta:
        formfield_callback = bounded_formfield
        model = ContractSite
        fields = ["site", "mature_from"]
        widgets = {"mature_from": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.order_by("code")

    def validate_unique(self):
        pass


class FundedComponentForm(forms.ModelForm):
    class Meta:
        formfield_callback = bounded_formfield
        model = FundedComponent
        fields = ["kind", "monthly_amount", "description"]

    def validate_unique(self):
        pass


class ProtectedComponentForm(forms.ModelForm):
    pathway = forms.ModelChoiceField(queryset=Pathway.dangerously_unscoped.none())
    step_key = forms.ChoiceField(label="Step")

    class Meta:
        formfield_callback = bounded_formfield
        model = ProtectedComponent
        fields = ["clause", "pathway", "step_key", "standard"]

    def __init__(self, *args, contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pathway"].queryset = contract.pathways.order_by("name")
        steps = (
            Step.objects.filter(version__pathway__in=contract.pathways.all())
            .exclude(version__status=PathwayVersion.Status.DRAFT)
            .order_by("version__pathway__name", "order")
            .values_list("version__pathway__name", "key", "name", "core")
            .distinct()
        )
        seen, choices = set(), []
        for _pathway, key, name, core in steps:
            if key in seen:
                continue
            seen.add(key)
            choices.append((key, f"{name}{'' if core else ' (adaptable)'}"))
        self.fields["step_key"].choices = choices

    def validate_unique(self):
        pass


# A term's target or threshold is a percentage, a count or a number of days, whichever the metric
# measures: never negative and never past a million.
TERM_LEVEL = {"min_value": 0, "max_value": 1_000_000}


class PerformanceTermForm(forms.ModelForm):
    implementation_target = forms.FloatField(**TERM_LEVEL)
    implementation_threshold = forms.FloatField(
        **TERM_LEVEL,
        help_text="Beyond this the term is breached; between target and threshold it is at risk.",
    )
    mature_target = forms.FloatField(**TERM_LEVEL)
    mature_threshold = forms.FloatField(**TERM_LEVEL)
    metric = forms.ModelChoiceField(
        queryset=MetricDefinition.dangerously_unscoped.none(),
        help_text="A shared metric definition: every contract and county reads the same one.",
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = PerformanceTerm
        fields = [
            "clause",
            "metric",
            "step",
            "implementation_target",
            "implementation_threshold",
            "mature_target",
            "mature_threshold",
            "evaluation_months",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["metric"].queryset = MetricDefinition.objects.order_by("order", "code")

    def validate_unique(self):
        pass


class PaymentBandForm(forms.ModelForm):
    class Meta:
        formfield_callback = bounded_formfield
        model = PaymentBand
        fields = ["name", "activity", "risk_tier", "unit_rate", "order"]

    def validate_unique(self):
        pass


class CorrectiveClauseForm(forms.ModelForm):
    term = forms.ModelChoiceField(queryset=PerformanceTerm.dangerously_unscoped.none())

    class Meta:
        formfield_callback = bounded_formfield
        model = CorrectiveClause
        fields = ["clause", "term", "consecutive_breaches", "response_days", "owner", "description"]

    def __init__(self, *args, contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"].queryset = contract.terms.select_related("metric").order_by("clause")
        self.fields["owner"].queryset = _members(Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD)

    def validate_unique(self):
        pass


class CorrectiveProcessForm(forms.ModelForm):
    progress = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )

    class Meta:
        formfield_callback = bounded_formfield
        model = CorrectiveProcess
        fields = ["status", "owner", "deadline", "progress", "improvement_action_ref"]
        widgets = {"deadline": DATE}
        labels = {"improvement_action_ref": "Improvement action reference"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members(
            Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR
        )


PART_FORMS = {
    "site": ContractSiteForm,
    "component": FundedComponentForm,
    "protected": ProtectedComponentForm,
    "term": PerformanceTermForm,
    "band": PaymentBandForm,
    "clause": CorrectiveClauseForm,
}
PART_LABELS = {
    "site": "Covered site and phase",
    "component": "Funded component",
    "protected": "Protected core step",
    "term": "Performance term",
    "band": "Payment band",
    "clause": "Corrective-action clause",
}
