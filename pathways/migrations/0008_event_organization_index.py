import django.db.models.deletion
from django.db import migrations, models

# The name Django gave the field's index (the same on PostgreSQL and SQLite).
INDEX = "pathways_caseevent_organization_id_e8c0d215"


class Migration(migrations.Migration):
    """Events lose their single-column organisation index: the (organization, event_id) unique
    constraint leads with the same column, and every stored event paid an entry in both.

    Only the index is dropped. Django's own AlterField would also drop and re-add the foreign
    key on PostgreSQL, validating every stored event again under a lock."""

    dependencies = [
        ("pathways", "0007_event_time_indexes"),
        ("scaling_ops", "0001_squashed_0003_notices_and_preferences"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="caseevent",
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
                    f"DROP INDEX IF EXISTS {INDEX}",
                    reverse_sql=f"CREATE INDEX IF NOT EXISTS {INDEX} "
                    "ON pathways_caseevent (organization_id)",
                ),
            ],
        ),
    ]
