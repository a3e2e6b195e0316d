from django import forms

from learning.models import ChangeProposal, Deviation, ImprovementAction, LearningReview
from scaling_ops.forms import TEXT_MAX_LENGTH, PlausibleDateField, site_choices

DATE = forms.DateInput(attrs={"type": "date"})


def owner_choices(memberships):
    return [(m.user_id, m.user.get_username()) for m in memberships]


class ActionFilter(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Title contains")
    site = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), ("active", "Open or in progress"),
                 *ImprovementAction.Status.choices],
    )  # fmt: skip
    source_kind = forms.ChoiceField(
        required=False,
        label="Source",
        choices=[("", "Any source"), *ImprovementAction.Source.choices],
    )
    owner = forms.ChoiceField(required=False, choices=[("", "Anyone"), ("me", "Me")])
    overdue = forms.BooleanField(required=False, label="Overdue only")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites) + [("network", "Network-wide")]


class ActionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    site = forms.ChoiceField(required=False, help_text="Blank: network-wide (leads).")
    source_kind = forms.ChoiceField(label="Source", choices=ImprovementAction.Source.choices)
    source_label = forms.CharField(
        required=False, max_length=200, label="Linked record",
        help_text="e.g. the audit, contract clause or meeting it comes from (no case refs).",
    )  # fmt: skip
    owner = forms.TypedChoiceField(coerce=int)
    deadline = PlausibleDateField(widget=DATE)
    reaudit_on = PlausibleDateField(required=False, widget=DATE, label="Re-audit date")

    def __init__(self, *args, sites, owners, network: bool, **kwargs):
        super().__init__(*args, **kwargs)
        blank = [("", "Network-wide")] if network else []
        self.fields["site"].choices = blank + [(s.code, s.name) for s in sites]
        self.fields["owner"].choices = owner_choices(owners)


class ActionEditForm(ActionForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["source_kind"]
        del self.fields["source_label"]


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ImprovementAction.Status.choices)
    closure_evidence = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Closure evidence",
    )
    reaudit_on = PlausibleDateField(required=False, widget=DATE, label="Re-audit date")


class DeviationFilter(forms.Form):
    site = forms.ChoiceField(required=False)
    category = forms.ChoiceField(
        required=False, choices=[("", "Any category"), *Deviation.Category.choices]
    )
    step = forms.ChoiceField(required=False)
    quarter = forms.CharField(required=False, max_length=7, help_text="e.g. 2026-Q4")
    from_exceptions = forms.ChoiceField(
        required=False,
        label="Origin",
        choices=[("", "Any"), ("yes", "Accepted exceptions"), ("no", "Logged by hand")],
    )

    def __init__(self, *args, sites, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = site_choices(sites)
        self.fields["step"].choices = [("", "Any step")] + list(steps)


class DeviationForm(forms.Form):
    site = forms.ChoiceField()
    step = forms.ChoiceField()
    category = forms.ChoiceField(choices=Deviation.Category.choices)
    referral_source = forms.ChoiceField(choices=Deviation.ReferralSource.choices)
    occurred_on = PlausibleDateField(happened=True, widget=DATE, label="Happened on")
    note = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, sites, steps, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(s.code, s.name) for s in sites]
        self.fields["step"].choices = list(steps)


class SettingsForm(forms.Form):
    pattern_min_sites = forms.IntegerField(
        min_value=2, max_value=50, label="Flag a pattern seen at this many sites"
    )
    default_deadline_days = forms.IntegerField(
        min_value=1, max_value=180, label="One-click action deadline (days)"
    )


class ReviewForm(forms.Form):
    title = forms.CharField(max_length=200)
    cadence = forms.ChoiceField(choices=LearningReview.Cadence.choices)
    period_start = PlausibleDateField(widget=DATE)
    period_end = PlausibleDateField(widget=DATE)
    held_on = PlausibleDateField(widget=DATE)
    sites = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Sites compared")
    measures = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    attendees = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )
    decisions = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, sites, measures, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = [(s.code, s.name) for s in sites]
        self.fields["measures"].choices = measures


class DecisionsForm(forms.Form):
    decisions = forms.CharField(
        max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    attendees = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2})
    )


class ReviewActionForm(forms.Form):
    title = forms.CharField(max_length=200)
    site = forms.ChoiceField(required=False)
    owner = forms.TypedChoiceField(coerce=int)
    deadline = PlausibleDateField(widget=DATE)

    def __init__(self, *args, sites, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "Network-wide")] + [(s.code, s.name) for s in sites]
        self.fields["owner"].choices = owner_choices(owners)


class ProposalFilter(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *ChangeProposal.Status.choices]
    )
    pathway = forms.ChoiceField(required=False)

    def __init__(self, *args, pathways, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pathway"].choices = [("", "Any pathway")] + [
            (p.slug, p.name) for p in pathways
        ]


class ProposalForm(forms.Form):
    pathway = forms.ChoiceField()
    title = forms.CharField(max_length=200)
    change_kind = forms.ChoiceField(choices=ChangeProposal.ChangeKind.choices, label="What changes")
    step_key = forms.CharField(required=False, max_length=80, label="Step (key)")
    change = forms.CharField(
        max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), label="The change"
    )
    rationale = forms.CharField(
        max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), label="Why"
    )
    evidence = forms.CharField(
        required=False, max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 3})
    )
    origin_site = forms.ChoiceField(required=False, label="Where the insight comes from")
    measures = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, label="Measures it should move"
    )
    definition = forms.CharField(
        required=False,
        strip=False,
        # A whole pathway definition: far more than a paragraph, still bounded.
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        label="Pathway definition with the change (JSON)",
        help_text="Blank: the current version's definition unchanged (a tool or script change). "
        "Download the current version's JSON from its page, edit it and paste it here.",
    )

    def __init__(self, *args, pathways, sites, measures, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["pathway"].choices = [(p.slug, p.name) for p in pathways]
        self.fields["origin_site"].choices = [("", "Network")] + [(s.code, s.name) for s in sites]
        self.fields["measures"].choices = measures


class PilotForm(forms.Form):
    sites = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Pilot sites")
    start = PlausibleDateField(widget=DATE)
    end = PlausibleDateField(widget=DATE)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = [(s.code, s.name) for s in sites]


class EvaluateForm(forms.Form):
    summary = forms.CharField(
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Conclusion",
        help_text="Blank: a summary of the computed figures.",
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=TEXT_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}))
