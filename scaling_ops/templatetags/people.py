"""``{{ user|person }}``: a person by their name (full name, else username), as histories,
lists and CSVs name them (scaling_ops.views_common.person_name). A builtin of the templates."""

from django import template

from scaling_ops.views_common import person_name

register = template.Library()


@register.filter
def person(user) -> str:
    return person_name(user or None)
