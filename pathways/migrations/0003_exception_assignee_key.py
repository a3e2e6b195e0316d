"""Exception items keep their assignee as a key and a name (pathways.assignees) instead of a user
link, so practitioners from the workforce app can be assigned. Existing assignments are kept."""

from django.db import migrations, models


def copy_user_assignments(apps, schema_editor):
    User = apps.get_model("auth", "User")
    for name in ("ExceptionItem", "HistoricalExceptionItem"):
        # The base manager: the tenant-scoped default manager refuses unbound queries.
        rows = apps.get_model("pathways", name)._base_manager
        user_ids = set(
            rows.filter(assigned_to__isnull=False).values_list("assigned_to_id", flat=True)
        )
        usernames = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "username"))
        for user_id in user_ids:
            rows.filter(assigned_to_id=user_id).update(
                assignee_key=f"user:{user_id}",
                assignee_name=usernames.get(user_id, f"user {user_id} (deleted)"),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("pathways", "0002_event_received_at"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="exceptionitem",
            name="assignee_key",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="exceptionitem",
            name="assignee_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="historicalexceptionitem",
            name="assignee_key",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="historicalexceptionitem",
            name="assignee_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(copy_user_assignments, migrations.RunPython.noop),
        migrations.RemoveField(model_name="exceptionitem", name="assigned_to"),
        migrations.RemoveField(model_name="historicalexceptionitem", name="assigned_to"),
    ]
