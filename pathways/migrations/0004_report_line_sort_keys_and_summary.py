"""The queue's sort keys on each report line (the item's site and step, and ``since``), with an
index per report for the queue's order and one for the partner API's; the report's stored
summary and the retention mark. Existing lines are filled from their items before the columns
become required."""

import django.db.models.deletion
from django.db import migrations, models

LINES = "pathways_exceptionreportline"
ITEMS = "pathways_exceptionitem"


def fill_sort_keys(apps, schema_editor):
    # Correlated subqueries: portable to SQLite and PostgreSQL alike.
    schema_editor.execute(
        f"UPDATE {LINES} SET"  # noqa: S608
        f" site_id = (SELECT item.site_id FROM {ITEMS} item WHERE item.id = {LINES}.item_id),"
        f" step = (SELECT item.step FROM {ITEMS} item WHERE item.id = {LINES}.item_id),"
        f" since = COALESCE({LINES}.due_at,"
        f" (SELECT item.anchor_at FROM {ITEMS} item WHERE item.id = {LINES}.item_id))"
    )
    if schema_editor.connection.vendor == "postgresql":
        # The new foreign key is checked at commit; its pending checks would stop the ALTER
        # TABLE below ("pending trigger events"), so they run now.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("pathways", "0003_exception_report_implausible_rows"),
        ("scaling_ops", "0002_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptionreport",
            name="lines_dropped_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="exceptionreport",
            name="summary",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="exceptionreportline",
            name="since",
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name="exceptionreportline",
            name="site",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="scaling_ops.site",
            ),
        ),
        migrations.AddField(
            model_name="exceptionreportline",
            name="step",
            field=models.CharField(default="", max_length=80),
            preserve_default=False,
        ),
        migrations.RunPython(fill_sort_keys, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="exceptionreportline",
            name="since",
            field=models.DateTimeField(),
        ),
        migrations.AlterField(
            model_name="exceptionreportline",
            name="site",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="scaling_ops.site",
            ),
        ),
        migrations.AddIndex(
            model_name="exceptionreportline",
            index=models.Index(
                fields=["report", "site", "step", "kind", "since", "id"],
                name="report_line_queue_order",
            ),
        ),
        migrations.AddIndex(
            model_name="exceptionreportline",
            index=models.Index(fields=["report", "id"], name="report_line_api_order"),
        ),
    ]
