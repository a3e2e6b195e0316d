"""A ``<select>`` written in Python, byte for byte what Django's own ``select.html`` and
``select_option.html`` templates write: the queue's filter form renders five selects of up to
a few hundred options (steps, assignees) on every page, and through the template engine that
was a fifth of the page's time (issue 20)."""

from django.forms import Select
from django.utils.html import conditional_escape


def _attrs(attrs: dict) -> str:
    # django/forms/widgets/attrs.html: False leaves the attribute out, True writes its name.
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(Select):
    def _render(self, template_name, context, renderer=None):
        if template_name != self.template_name:
            return super()._render(template_name, context, renderer)
        from django.utils.safestring import mark_safe

        widget = context["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in options:
                parts.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value is escaped above
