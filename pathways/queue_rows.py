"""The queue's rows as HTML, written in Python: 50 rows through the template engine cost
hundreds of milliseconds of variable lookups and filters (issue 20 measured the page at 5-10x a
bare read of the same rows). Each row is one escaped string; its actions (assign, resolve,
accept, the links of apps above pathways) are fetched when its menu opens
(``views.exceptions.exception_actions``), so a page holds no picker and no form per row."""

from itertools import groupby
from urllib.parse import quote

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from pathways.escaping import conditional_escape, escape
from pathways.models import ExceptionItem, ExceptionKind

KIND_LABELS = dict(ExceptionKind.choices)
STATUS_LABELS = dict(ExceptionItem.Status.choices)
CLOSED = (ExceptionItem.Status.RESOLVED, ExceptionItem.Status.ACCEPTED)
COLUMNS = 8


def when_text(value, zone) -> str:
    """ "3 Nov 14:00" in the organisation's time zone."""
    local = timezone.localtime(value, zone)
    return f"{local.day} {local:%b %H:%M}"


def queue_row_html(
    line,
    *,
    item_base: str,
    case_base: str,
    zone,
    next_url: str,
    error: str = "",
    actions: str = "",
    _next_quoted: str | None = None,
) -> str:
    """One row. ``line`` carries ``item`` (with its case), ``kind``, ``due_at``,
    ``completed_at``, ``since``, ``report_id``, ``age_days`` and ``step_name``. With ``actions``
    (the rendered actions fragment) the menu is drawn open with them, as after a refusal.
    ``_next_quoted`` is ``next_url`` already quoted, passed by ``queue_rows_html`` so a page
    quotes it once, not once per row."""
    item = line.item
    ref = escape(item.case.external_ref)
    step = escape(line.step_name)
    pk = item.pk
    if line.due_at:
        due = when_text(line.due_at, zone)
    else:
        due = f'<span class="muted">assessed {when_text(line.since, zone)}</span>'
    if line.completed_at:
        due += f' <span class="muted">· done {when_text(line.completed_at, zone)}</span>'
    status = (
        f'<span class="badge {item.status}">{escape(STATUS_LABELS.get(item.status, ""))}</span>'
    )
    if item.assignee_name:
        status += f' <span class="muted">→ {escape(item.assignee_name)}</span>'
    if item.closed_automatically:
        status += ' <span class="muted">(closed automatically)</span>'
    age = "—" if line.age_days is None else line.age_days
    if _next_quoted is None:
        _next_quoted = quote(next_url, safe="")
    actions_url = escape(f"{item_base}{pk}/actions/?report={line.report_id}&next={_next_quoted}")
    disabled = " disabled" if item.status in CLOSED else ""
    alert = f'<ul class="errorlist" role="alert"><li>{escape(error)}</li></ul>' if error else ""
    if actions:
        menu = f'<details class="menu" open><summary aria-label="Actions for {ref} {step}">Actions</summary><div class="menu-body">{actions}</div></details>'  # noqa: E501
    else:
        menu = (
            f'<details class="menu" hx-get="{actions_url}" hx-trigger="toggle once"'
            f' hx-target="find .menu-body"><summary aria-label="Actions for {ref} {step}">'
            f'Actions</summary><div class="menu-body"><a href="{actions_url}">Assign, resolve or'
            " accept</a></div></details>"
        )
    return (
        f'<tr id="exception-{pk}"><td><input type="checkbox" name="items" value="{pk}"'
        f' form="bulk-form" aria-label="Select {ref} {step}"{disabled}></td>'
        f'<td class="ref"><a href="{escape(case_base)}{escape(quote(item.case.external_ref, safe=""))}/">{ref}</a></td>'  # noqa: E501
        f"<td>{step}</td>"
        f'<td><span class="badge {line.kind}">{escape(KIND_LABELS.get(line.kind, ""))}</span></td>'
        f'<td class="when">{due}</td><td class="num">{age}</td><td>{status}</td>'
        f'<td class="actions">{alert}{menu}</td></tr>'
    )


def queue_rows_html(rows, *, item_base: str, case_base: str, zone, next_url: str) -> SafeString:
    """The page's rows, a heading row before each site's first (``site_id``, ``site_name``)."""
    parts = []
    site = None
    next_quoted = quote(next_url, safe="")
    for line in rows:
        if line.site_id != site:
            site = line.site_id
            parts.append(
                f'<tr class="group"><th colspan="{COLUMNS}" scope="colgroup">'
                f"{escape(line.site_name)}</th></tr>"
            )
        parts.append(
            queue_row_html(
                line,
                item_base=item_base,
                case_base=case_base,
                zone=zone,
                next_url=next_url,
                _next_quoted=next_quoted,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _param(name: str, value) -> str:
    """``name=value`` quoted and escaped for an href (escaping is per character, so escaped
    pieces join into the escaped whole)."""
    return escape(f"{name}={quote(str(value), safe='')}")


def _cell_link(base: str, *params: str) -> str:
    """``?base&params`` from ``_param`` pieces: each site's and each row's are built once per
    table, not once per cell (a summary has a few hundred links)."""
    return "?" + "&amp;".join((escape(base), *params) if base else params)


def queue_summary_html(summary: dict, *, status_label: str) -> SafeString:
    """The huddle summary as one compact table (a row per step and kind, a column per site),
    each count a link that filters the list to those exceptions."""
    sites = summary["sites"]
    base = summary["filter_base"]
    several = len(sites) > 1
    site_params = {site["code"]: _param("site", site["code"]) for site in sites}
    head = "".join(
        f'<th scope="col" class="num"><a href="{_cell_link(base, site_params[site["code"]])}">'
        f"{escape(site['name'])}</a></th>"
        for site in sites
    )
    if several:
        head += '<th scope="col" class="num">All sites</th>'
    body = []
    for row in summary["rows"]:
        label = f"{escape(row['kind_label'].lower())} {escape(row['step_name'])}"
        step, kind = _param("step", row["step"]), _param("kind", row["kind"])
        cells = []
        for cell in row["by_site"]:
            if cell is None:
                cells.append('<td class="num"><span class="muted">–</span></td>')
                continue
            link = _cell_link(base, site_params[cell["site"]], step, kind)
            age = (
                ""
                if cell["oldest_age"] is None
                else f' <span class="muted">{cell["oldest_age"]} d</span>'
            )
            cells.append(
                f'<td class="num"><a href="{link}" aria-label="{cell["count"]} {label}">'
                f"{cell['count']}</a>{age}</td>"
            )
        if several:
            link = _cell_link(base, step, kind)
            cells.append(f'<td class="num"><a href="{link}">{row["count"]}</a></td>')
        body.append(
            f'<tr><th scope="row">{escape(row["step_name"])}</th><td><span class="badge'
            f' {row["kind"]}">{escape(row["kind_label"])}</span></td>{"".join(cells)}</tr>'
        )
    return mark_safe(  # noqa: S308 - every value is escaped
        '<table class="huddle" id="huddle-summary"><caption>Huddle summary'
        f" ({escape(status_label.lower())}) by step and site; days since the oldest was due in"
        " grey. Choose a number to list those exceptions.</caption><thead><tr>"
        f'<th scope="col">Step</th><th scope="col">Exception</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def filter_fields_html(form) -> SafeString:
    """The filter form's fields, each a label, its widget and its errors, as the queue's
    template wrote them: its loop resolved a dozen variables per field on every page."""
    return mark_safe(  # noqa: S308 - labels and ids escaped; widgets and errors are safe HTML
        "".join(
            f'<div><label for="{conditional_escape(field.id_for_label)}">'
            f"{conditional_escape(field.label)}</label>{field}{field.errors or ''}</div>"
            for field in form
        )
    )


def assignee_options_html(people, *, selected: str = "", owner: str = "") -> SafeString:
    """The assign picker's options, an optgroup per run of people with the same ``group`` (as
    the picker lists them), ``selected`` chosen and ``owner`` named as the case's
    practitioner: a template loop cost tens of microseconds a person, every page."""
    parts = []
    for group, members in groupby(people, key=lambda person: person.group):
        parts.append(f'<optgroup label="{conditional_escape(group)}">')
        for person in members:
            chosen = " selected" if person.key == selected else ""
            practitioner = " · case practitioner" if person.key == owner else ""
            parts.append(
                f'<option value="{conditional_escape(person.key)}"{chosen}>'
                f"{conditional_escape(person.name)}{practitioner}</option>"
            )
        parts.append("</optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 - every value is escaped
