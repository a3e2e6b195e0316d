"""Launch checklists made before issue 18 lack its automatic item "package of the active version
acknowledged by every practitioner at the site" (new organisations get it from DEFAULT_ITEMS in
workforce/services/readiness.py). For each organisation whose active checklist has no item of that
rule, and none of whose checklist versions ever had one (a lead who removed it in a later version
keeps it removed), a new checklist version is made: a copy of the active one with the item added
after "Site adaptations approved" (or at the end), activated, the old version retired, both
changes in the checklist's history. Checklists are versioned and never edited once active, so
the item is not added to the active version in place. Drafts are left as they are."""

from django.db import migrations
from django.utils import timezone

RULE = "package_acknowledged"
KEY = "package-acknowledged"
TITLE = "Package of the active version acknowledged by every practitioner at the site"
GUIDANCE = (
    "Each practitioner acknowledges the replication package (role description, scripts, "
    "documentation templates) of the version the site's cases follow, on their staff page."
)
AFTER = "adaptations_approved"
NOTE = (
    "Adds the automatic item \u201cpackage of the active version acknowledged by every "
    "practitioner at the site\u201d to a checklist made before it existed."
)


def _history(apps, template, *, kind: str, reason: str, when) -> None:
    Historical = apps.get_model("workforce", "HistoricalChecklistTemplate")
    Historical._base_manager.bulk_create(
        [
            Historical(
                id=template.pk,
                name=template.name,
                version=template.version,
                status=template.status,
                note=template.note,
                created_at=template.created_at,
                created_by_id=template.created_by_id,
                organization_id=template.organization_id,
                history_date=when,
                history_change_reason=reason,
                history_type=kind,
            )
        ]
    )


def add_package_item(apps, schema_editor) -> list[int]:
    """Returns the ids of the organisations whose checklist gained the item."""
    Template = apps.get_model("workforce", "ChecklistTemplate")
    Item = apps.get_model("workforce", "ChecklistItem")
    templates = Template._base_manager
    items = Item._base_manager
    had_it = set(items.filter(rule=RULE).values_list("organization_id", flat=True))
    changed = []
    now = timezone.now()
    for active in templates.filter(status="active").exclude(organization_id__in=had_it):
        rows = list(items.filter(template_id=active.pk).order_by("position"))
        if any(row.key == KEY for row in rows):
            continue  # an item of their own under that key: leave the checklist alone
        latest = (
            templates.filter(organization_id=active.organization_id)
            .order_by("-version")
            .values_list("version", flat=True)
            .first()
        )
        templates.filter(pk=active.pk).update(status="retired")
        active.status = "retired"
        _history(apps, active, kind="~", reason="Retired: " + NOTE, when=now)
        [new] = templates.bulk_create(
            [
                Template(
                    organization_id=active.organization_id,
                    name=active.name,
                    version=latest + 1,
                    status="active",
                    note=NOTE,
                    created_at=now,
                )
            ]
        )
        if new.pk is None:  # a backend that returns no ids from bulk_create
            new = templates.get(organization_id=active.organization_id, version=latest + 1)
        _history(apps, new, kind="+", reason="Activated: " + NOTE, when=now)
        at = next((i + 1 for i, row in enumerate(rows) if row.rule == AFTER), len(rows))
        specs = [
            (row.key, row.title, row.kind, row.rule, row.required, row.guidance) for row in rows
        ]
        specs.insert(at, (KEY, TITLE, "automatic", RULE, True, GUIDANCE))
        items.bulk_create(
            Item(
                organization_id=active.organization_id,
                template_id=new.pk,
                key=key,
                title=title,
                kind=kind,
                rule=rule,
                required=required,
                guidance=guidance,
                position=position,
            )
            for position, (key, title, kind, rule, required, guidance) in enumerate(specs)
        )
        changed.append(active.organization_id)
    return changed


def forwards(apps, schema_editor) -> None:
    add_package_item(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("workforce", "0004_merge_issues_16_to_21"),
    ]

    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
