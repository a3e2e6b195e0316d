"""Triage of exception items by people: assign, resolve with a corrective action, accept with a
reason. Every change keeps its history (who, when, why); a resolved or accepted item is closed and
stays closed, also across recomputation of the daily report.

Triage writes only the triage fields (``status``, the assignee, ``note``) so that it never
overwrites the figures the daily computation maintains, and the computation never writes the
triage fields except to close an item automatically (see ``pathways.services.exceptions``)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from pathways import assignees, triage
from pathways.extension_points import exception_items_triaged, triage_guards
from pathways.models import ExceptionItem, ExceptionReport, ExceptionReportLine
from pathways.selectors.exceptions import summary_line

OPEN_STATUSES = triage.OPEN_STATUSES
TRIAGE_FIELDS = ["status", "assignee_key", "assignee_name", "note", "updated_at"]


class TriageAction:
    ASSIGN = "assign"
    RESOLVE = "resolve"
    ACCEPT = "accept"


def _check_guards(action: str, by, items: list[ExceptionItem]) -> None:
    blockers = [
        reason for guard in triage_guards.providers() for reason in guard(action, by, items)
    ]
    if blockers:
        raise ValidationError(blockers)


def exception_report_summaries_update(*, items: list[ExceptionItem]) -> None:
    """Item statuses changed: each stored report summary is updated in place, so the next page
    reads it as it is instead of grouping the report's lines again. Exact, not estimated: the
    (site, step, kind) cells the items' lines sit in are grouped again from those cells' lines
    alone (an index range of each report), and the sites' counts of items needing action are
    counted again. Five queries whatever the number of items or reports; a report whose lines
    the retention window dropped keeps its rolled-up summary."""
    if not items:
        return
    cells = set(
        ExceptionReportLine.objects.filter(item_id__in=[item.pk for item in items])
        .order_by()
        .values_list("site_id", "step", "kind")
        .distinct()
    )
    with transaction.atomic():
        # Locked so that two triages at once cannot each write back the other's stale cells.
        reports = list(
            ExceptionReport.objects.select_for_update()
            .filter(summary__isnull=False, lines_dropped_at__isnull=True)
            .only("pk", "summary")
            .order_by("pk")
        )
        if not reports:
            return
        site_ids = {item.site_id for item in items} | {site_id for site_id, _, _ in cells}
        open_items = dict(
            ExceptionItem.objects.filter(status__in=OPEN_STATUSES, site_id__in=site_ids)
            .order_by()
            .values("site_id")
            .annotate(count=Count("id"))
            .values_list("site_id", "count")
        )
        regrouped: dict[int, list] = {}
        if cells:
            in_cells = Q()
            for site_id, step, kind in cells:
                in_cells |= Q(site_id=site_id, step=step, kind=kind)
            for row in (
                ExceptionReportLine.objects.filter(in_cells, report_id__in=[r.pk for r in reports])
                .order_by()
                .values("report_id", "site_id", "step", "kind", status=F("item__status"))
                .annotate(count=Count("id"), oldest=Min("since"))
            ):
                regrouped.setdefault(row["report_id"], []).append(summary_line(row))
        for report in reports:
            summary = report.summary
            summary["lines"] = [
                line for line in summary["lines"] if (line[0], line[1], line[2]) not in cells
            ] + regrouped.get(report.pk, [])
            for site_id in site_ids:
                if open_items.get(site_id):
                    summary["open_items"][str(site_id)] = open_items[site_id]
                else:
                    summary["open_items"].pop(str(site_id), None)
        ExceptionReport.objects.bulk_update(reports, ["summary"], batch_size=200)


def _announce(action: str, by, items: list[ExceptionItem]) -> None:
    if items:
        exception_report_summaries_update(items=items)
        transaction.on_commit(
            lambda: exception_items_triaged.send(
                sender=ExceptionItem, action=action, by=by, items=items
            )
        )


def _assignee_for(key: str, items: list[ExceptionItem]) -> assignees.Assignee:
    """The assignee ``key`` names, if they may take every one of ``items``."""
    assignee = assignees.assignee_find(key)
    if assignee is None:
        raise ValidationError(
            {
                "assignee": "Choose someone from the list: a practitioner at the exception's "
                "site, or a supervisor, implementation lead or org admin of this organisation."
            }
        )
    elsewhere = [item for item in items if not assignee.takes(item.site_id)]
    if elsewhere:
        sites = sorted({item.site.name for item in elsewhere})
        raise ValidationError(
            {
                "assignee": f"{assignee.name} does not work at {', '.join(sites)}; "
                "choose someone at the exception's site."
            }
        )
    return assignee


ASSIGNEE_NAME_LENGTH = ExceptionItem._meta.get_field("assignee_name").max_length


def _set_assignee(item: ExceptionItem, assignee: assignees.Assignee) -> None:
    item.status = ExceptionItem.Status.ASSIGNED
    item.assignee_key = assignee.key
    # A directory name (a staff name of up to 200 characters and its role) can be longer than
    # the column: shortened to fit, the whole name stays in the history's reason.
    name = assignee.name
    if len(name) > ASSIGNEE_NAME_LENGTH:
        name = name[: ASSIGNEE_NAME_LENGTH - 1] + "…"
    item.assignee_name = name


def _save(item: ExceptionItem, *, action: str, by, reason: str) -> ExceptionItem:
    item._history_user = by
    item._change_reason = reason
    item.updated_at = timezone.now()
    item.save(update_fields=TRIAGE_FIELDS)
    _announce(action, by, [item])
    return item


def exception_item_assign(*, item: ExceptionItem, by, assignee: str) -> ExceptionItem:
    """Assigns ``item`` to the person the key ``assignee`` names (see ``pathways.assignees``)."""
    triage.check_open(item)
    person = _assignee_for(assignee, [item])
    _check_guards(TriageAction.ASSIGN, by, [item])
    _set_assignee(item, person)
    return _save(item, action=TriageAction.ASSIGN, by=by, reason=f"Assigned to {person.name}")


def exception_item_resolve(*, item: ExceptionItem, by, note: str) -> ExceptionItem:
    triage.check_open(item)
    note = triage.RESOLVE.text(note)
    _check_guards(TriageAction.RESOLVE, by, [item])
    item.note = note
    item.status = triage.RESOLVE.status
    return _save(item, action=TriageAction.RESOLVE, by=by, reason=triage.RESOLVE.history_reason)


def exception_item_accept(*, item: ExceptionItem, by, reason: str) -> ExceptionItem:
    triage.check_open(item)
    reason = triage.ACCEPT.text(reason)
    # Guards run before the item changes, so a refusal leaves it as it was, in memory too.
    _check_guards(TriageAction.ACCEPT, by, [item])
    item.note = reason
    item.status = triage.ACCEPT.status
    return _save(item, action=TriageAction.ACCEPT, by=by, reason=triage.ACCEPT.history_reason)


def _bulk(
    items: Iterable[ExceptionItem], *, action: str, by, reason: str, change
) -> tuple[int, int]:
    """Applies ``change`` to every open item set-based (one UPDATE per batch plus one INSERT of
    history rows); items already closed are skipped. Returns (changed, skipped)."""
    items = list(items)
    now = timezone.now()
    changed = [item for item in items if item.status in OPEN_STATUSES]
    _check_guards(action, by, changed)
    for item in changed:
        change(item)
        item.updated_at = now
    with transaction.atomic():
        # Filtering on the open statuses again makes a concurrent close win over this change.
        ExceptionItem.objects.filter(status__in=OPEN_STATUSES).bulk_update(
            changed, TRIAGE_FIELDS, batch_size=500
        )
        ExceptionItem.history.bulk_history_create(
            changed, update=True, default_user=by, default_change_reason=reason, default_date=now
        )
        _announce(action, by, changed)
    return len(changed), len(items) - len(changed)


def exception_items_bulk_assign(
    *, items: Iterable[ExceptionItem], by, assignee: str
) -> tuple[int, int]:
    items = list(items)
    person = _assignee_for(assignee, [item for item in items if item.status in OPEN_STATUSES])
    return _bulk(
        items,
        action=TriageAction.ASSIGN,
        by=by,
        reason=f"Assigned to {person.name}",
        change=lambda item: _set_assignee(item, person),
    )


def exception_items_bulk_resolve(
    *, items: Iterable[ExceptionItem], by, note: str
) -> tuple[int, int]:
    return _bulk_close(items, by=by, text=note, closing=triage.RESOLVE, action=TriageAction.RESOLVE)


def exception_items_bulk_accept(
    *, items: Iterable[ExceptionItem], by, reason: str
) -> tuple[int, int]:
    return _bulk_close(items, by=by, text=reason, closing=triage.ACCEPT, action=TriageAction.ACCEPT)


def _bulk_close(
    items: Iterable[ExceptionItem], *, by, text: str, closing: triage.Closing, action
) -> tuple[int, int]:
    """Closes the open ones of ``items`` the one way ``closing`` says, with the person's text."""
    text = closing.text(text, many=True)

    def change(item):
        item.status = closing.status
        item.note = text

    return _bulk(items, action=action, by=by, reason=closing.history_reason, change=change)
