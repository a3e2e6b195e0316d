"""A report line's organisation, site and item held together by one composite foreign key on
PostgreSQL, ``report_line_item_site``: (item, organization, site) must be an item's own, so a
line can never name another site or organisation than its item's (the queue shows a site's
lines by the line's own site). It replaces the lines' three single-column keys, each checked
for every line a report writes; the items' single-column organisation index goes too (two
indexes lead with the column). Django cannot declare a composite key, so it is added here and
the model's three fields say ``db_constraint=False``. SQLite keeps its single-column keys.

The items' index is dropped without Django's AlterField, which would also drop and re-add the
organisation key on PostgreSQL, validating every stored item again under a lock (as 0008)."""

import django.db.models.deletion
from django.db import migrations, models

ITEM_ORGANIZATION_INDEX = "pathways_exceptionitem_organization_id_6dcae0bd"
LINE_KEY = "report_line_item_site"


def add_line_key(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Checks every stored line: readers go on, writes to lines and items wait until it is done.
    schema_editor.execute(
        f"ALTER TABLE pathways_exceptionreportline ADD CONSTRAINT {LINE_KEY}"
        " FOREIGN KEY (item_id, organization_id, site_id)"
        " REFERENCES pathways_exceptionitem (id, organization_id, site_id)"
        " DEFERRABLE INITIALLY DEFERRED"
    )


def drop_line_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE pathways_exceptionreportline DROP CONSTRAINT IF EXISTS {LINE_KEY}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pathways", "0009_event_closure_index"),
        ("scaling_ops", "0001_squashed_0003_notices_and_preferences"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="exceptionitem",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="scaling_ops.organization",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {ITEM_ORGANIZATION_INDEX}",
                    reverse_sql=f"CREATE INDEX IF NOT EXISTS {ITEM_ORGANIZATION_INDEX} "
                    "ON pathways_exceptionitem (organization_id)",
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="exceptionitem",
            constraint=models.UniqueConstraint(
                fields=("id", "organization", "site"), name="exception_item_site_key"
            ),
        ),
        migrations.AlterField(
            model_name="exceptionreportline",
            name="item",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="pathways.exceptionitem",
            ),
        ),
        migrations.AlterField(
            model_name="exceptionreportline",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="scaling_ops.organization",
            ),
        ),
        migrations.AlterField(
            model_name="exceptionreportline",
            name="site",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="scaling_ops.site",
            ),
        ),
        migrations.RunPython(add_line_key, drop_line_key),
    ]
