"""The queue's escaping (pathways.escaping) writes Django's text for every kind of value."""

import pytest
from django.utils import html as django_html
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from pathways import escaping


@pytest.mark.parametrize(
    "value", ["plain", "A & B <i>\"q\" 'a'</i>", "&amp; already", 42, None, "→ ü", ""]
)
def test_escape_and_conditional_escape_write_djangos_text(value):
    lazy_text = lazy(str, str)(value)
    lazy_safe = lazy(lambda v: mark_safe(str(v)), str)(value)
    for shape in (value, mark_safe(str(value)), lazy_text, lazy_safe):
        assert escaping.escape(shape) == django_html.escape(shape)
        assert escaping.conditional_escape(shape) == django_html.conditional_escape(shape)
