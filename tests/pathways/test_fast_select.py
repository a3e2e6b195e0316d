"""The queue's filter selects are written in Python (pathways.fast_select) but must be exactly
what Django's select templates write, in every state: chosen, grouped, refused, required."""

from django import forms

from pathways.fast_select import FastSelect

CHOICES = [
    ("", 'All <kinds> & "more"'),
    ("a", "A"),
    ("Group 'x'", [("k1", "Kim & Co"), ("k2", "Lee")]),
    (3, 7),
    ("é", "é"),
]


class Pair(forms.Form):
    django = forms.ChoiceField(required=False, choices=CHOICES)
    ours = forms.ChoiceField(required=False, choices=CHOICES, widget=FastSelect)
    django_required = forms.ChoiceField(choices=CHOICES, help_text="Pick one.")
    ours_required = forms.ChoiceField(choices=CHOICES, help_text="Pick one.", widget=FastSelect)


def _named(html: str, name: str) -> str:
    return html.replace(name, "NAME")


def test_fast_select_writes_what_djangos_template_writes():
    for data in (
        {"django": "k1", "ours": "k1", "django_required": "zz", "ours_required": "zz"},
        {"django": "3", "ours": "3", "django_required": "a", "ours_required": "a"},
        {},
    ):
        form = Pair(data)
        form.is_valid()
        assert _named(str(form["ours"]), "ours") == _named(str(form["django"]), "django")
        assert _named(str(form["ours_required"]), "ours_required") == _named(
            str(form["django_required"]), "django_required"
        )
    chosen = str(Pair({"ours": "k1"})["ours"])
    assert '<option value="k1" selected>Kim &amp; Co</option>' in chosen
    assert '<optgroup label="Group &#x27;x&#x27;">' in chosen
