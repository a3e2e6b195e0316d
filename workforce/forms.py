from decimal import Decimal

from django import forms

from scaling_ops.forms import TEXT_MAX_LENGTH, PlausibleDateField
from workforce.models import Decision, ExperienceBand, StaffRole, TrainingModule

# HTML date inputs take ISO dates, whatever the locale's display format.
DATE_WIDGET = {"format": "%Y-%m-%d", "attrs": {"type": "date"}}


def date_input():
    return forms.DateInput(**DATE_WIDGET)


class StaffForm(forms.Form):
    name = forms.CharField(max_length=200)
    role = forms.ChoiceField(choices=StaffRole.choices)
    experience_band = forms.ChoiceField(choices=ExperienceBand.choices)
    fte = forms.DecimalField(
        max_digits=3, decimal_places=2, min_value=Decimal("0.01"), max_value=Decimal("1.50"),
        initial=1, label="FTE",
    )  # fmt: skip
    start_date = PlausibleDateField(widget=date_input())
    team = forms.ChoiceField(required=False)

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "No team yet")] + [(str(t.pk), t.name) for t in teams]


class TeamForm(forms.Form):
    name = forms.CharField(max_length=120)


class SupervisorForm(forms.Form):
    supervisor = forms.ChoiceField(required=False)

    def __init__(self, *args, supervisors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].choices = [("", "None named")] + [
            (str(s.pk), s.name) for s in supervisors
        ]


class CompletionForm(forms.Form):
    module = forms.ChoiceField()
    completed_on = PlausibleDateField(happened=True, widget=date_input())
    evidence = forms.CharField(required=False, max_length=500)

    def __init__(self, *args, modules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["module"].choices = [(str(m.pk), m.name) for m in modules]


class SessionForm(forms.Form):
    supervisor = forms.ChoiceField()
    staff = forms.ChoiceField(label="Supervisee")
    held_on = PlausibleDateField(happened=True, widget=date_input())
    cases = forms.CharField(required=False, max_length=TEXT_MAX_LENGTH,
                            help_text="Case refs reviewed, comma-separated.")  # fmt: skip
    notes = forms.CharField(required=False, max_length=TEXT_MAX_LENGTH,
                            widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip

    def __init__(self, *args, supervisors, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].choices = [
            (str(s.pk), f"{s.name} ({s.site.code})") for s in supervisors
        ]
        self.fields["staff"].choices = [(str(s.pk), f"{s.name} ({s.site.code})") for s in staff]


class SampleForm(forms.Form):
    supervisor = forms.ChoiceField()
    week_start = PlausibleDateField(widget=date_input(), label="Week of")
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**31 - 1,
        help_text="Empty: a random seed, recorded.",
    )

    def __init__(self, *args, supervisors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supervisor"].choices = [
            (str(s.pk), f"{s.name} ({s.site.code})") for s in supervisors
        ]


class AssignForm(forms.Form):
    case = forms.CharField(max_length=100, label="Case ref")
    practitioner = forms.ChoiceField()

    def __init__(self, *args, practitioners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].choices = [
            (str(p.pk), f"{p.name} ({p.site.code})") for p in practitioners
        ]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[(Decision.CLOSE_CASE, Decision.CLOSE_CASE.label),
                 (Decision.APPROVE_ESCALATION, Decision.APPROVE_ESCALATION.label)]
    )  # fmt: skip
    note = forms.CharField(max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Grounds")  # fmt: skip


class ModuleForm(forms.Form):
    code = forms.SlugField(max_length=60)
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=TrainingModule.Kind.choices)
    roles = forms.MultipleChoiceField(choices=StaffRole.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)  # fmt: skip
    validity_months = forms.IntegerField(required=False, min_value=1, max_value=120)


class StandardForm(forms.Form):
    min_experienced_share = forms.FloatField(min_value=0, max_value=1)
    max_practitioners_per_supervisor = forms.IntegerField(min_value=1, max_value=100)
    supervision_interval_days = forms.IntegerField(min_value=1, max_value=366)
    review_sample_size = forms.IntegerField(min_value=1, max_value=500)
    onboarding_days = forms.IntegerField(min_value=7, max_value=180)
    max_caseload = forms.IntegerField(
        min_value=1, max_value=500, label="Maximum caseload", required=False,
        help_text="Most open cases one practitioner should hold; above it is a pressure signal.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for decision, label in Decision.choices:
            self.fields[f"authority_{decision}"] = forms.MultipleChoiceField(
                label=f"May {label.lower()}", choices=StaffRole.choices, required=False,
                widget=forms.CheckboxSelectMultiple,
            )  # fmt: skip


class AttestForm(forms.Form):
    evidence = forms.CharField(max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
    evidence_file = forms.FileField(required=False, label="Evidence file (optional)")


class GoLiveForm(forms.Form):
    override_reason = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Org admins only: why the site goes live despite the blockers. Recorded.",
    )  # fmt: skip


class ChecklistVersionForm(forms.Form):
    note = forms.CharField(max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
                           label="What changes and why")  # fmt: skip
    new_key = forms.SlugField(required=False, max_length=60, label="New attested item: key")
    new_title = forms.CharField(required=False, max_length=200, label="New attested item: title")
    remove = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                       label="Remove items")  # fmt: skip

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["remove"].choices = [(i.key, i.title) for i in items]


class EstablishmentForm(forms.Form):
    fte = forms.DecimalField(
        label="Funded establishment (FTE)", min_value=0, max_value=999, max_digits=5,
        decimal_places=2, help_text="Funded whole-time-equivalent posts, e.g. 6.5.",
    )  # fmt: skip
    effective_from = PlausibleDateField(
        label="From", help_text="YYYY-MM-DD: the value applies from this day until the next one.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    note = forms.CharField(required=False, max_length=200, label="Why (optional)")
