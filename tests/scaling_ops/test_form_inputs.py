"""Every value a person types into a form has a window: a date between 1900 and a few years ahead
(or today, for something that happened), a number between bounds, a text a length. Found by
walking every form class the project defines, so a new form without a window fails here."""

from datetime import date, timedelta

import pytest
from django import forms
from django.urls import get_resolver
from django.utils import timezone

from scaling_ops.forms import PlausibleDateField, PlausibleDateTimeField

PROJECT_APPS = {"scaling_ops", "pathways", "workforce", "assurance", "learning"}
NUMBER_FIELDS = (forms.IntegerField, forms.FloatField, forms.DecimalField)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def project_form_fields():
    assert get_resolver().url_patterns  # imports every view module, so every form class is defined
    seen = set()
    for form_class in [*_subclasses(forms.Form), *_subclasses(forms.ModelForm)]:
        if form_class.__module__.split(".")[0] not in PROJECT_APPS or form_class in seen:
            continue
        seen.add(form_class)
        for name, field in form_class.base_fields.items():
            yield f"{form_class.__module__}.{form_class.__name__}.{name}", field


FIELDS = sorted(project_form_fields(), key=lambda item: item[0])


def test_the_walk_finds_the_project_forms():
    names = {name for name, _ in FIELDS}
    assert "workforce.forms.CompletionForm.completed_on" in names
    assert "assurance.forms.IncidentForm.occurred_at" in names or any(
        name.endswith(".occurred_at") for name in names
    )


def fields_where(test):
    return [pytest.param(name, field, id=name) for name, field in FIELDS if test(field)]


@pytest.mark.parametrize("name, field", fields_where(lambda f: isinstance(f, forms.DateField)))
def test_every_date_field_has_a_plausible_window(name, field):
    expected = (
        PlausibleDateTimeField if isinstance(field, forms.DateTimeField) else PlausibleDateField
    )
    assert isinstance(field, expected), f"{name} is a bare {type(field).__name__}"


@pytest.mark.parametrize("name, field", fields_where(lambda f: isinstance(f, NUMBER_FIELDS)))
def test_every_number_field_has_bounds(name, field):
    assert field.min_value is not None, f"{name} has no minimum"
    assert field.max_value is not None, f"{name} has no maximum"


@pytest.mark.parametrize(
    "name, field",
    fields_where(lambda f: type(f) in (forms.CharField, forms.SlugField, forms.EmailField)),
)
def test_every_text_field_has_a_length(name, field):
    assert field.max_length is not None, f"{name} has no max_length"


@pytest.mark.parametrize("typed", ["0206-11-02", "1899-12-31", "9999-12-31", "2040-01-01"], ids=str)
def test_a_year_typo_is_named_with_the_window(typed):
    field = PlausibleDateField()
    with pytest.raises(forms.ValidationError) as refused:
        field.clean(typed)
    assert "Enter a date between 1 Jan 1900 and" in refused.value.messages[0]


def test_the_window_admits_its_edges():
    field = PlausibleDateField()
    assert field.clean("1900-01-01") == date(1900, 1, 1)
    assert field.clean(str(timezone.localdate() + timedelta(days=365))) is not None


def test_something_that_happened_is_at_most_today():
    field = PlausibleDateField(happened=True)
    today = timezone.localdate()
    assert field.clean(str(today)) == today
    with pytest.raises(forms.ValidationError):
        field.clean(str(today + timedelta(days=2)))


def test_a_moment_that_happened_is_in_its_window():
    field = PlausibleDateTimeField()
    assert field.clean("2026-01-05 10:00") is not None
    for typed in ["0206-01-05 10:00", "9999-01-05 10:00"]:
        with pytest.raises(forms.ValidationError):
            field.clean(typed)
