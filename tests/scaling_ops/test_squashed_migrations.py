"""Each app's migrations are squashed into one for a new database (migrating a new database was
most of `make seed`'s time: every operation re-renders the related models); an existing database
carries on with the migrations the squash replaces. Both roads must end at the same schema."""

import pytest
from django.db.migrations.loader import MigrationLoader

PROJECT_APPS = ["scaling_ops", "pathways", "assurance", "learning", "workforce"]


def _project_state(*, squashed: bool):
    loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=squashed)
    return loader.project_state(), loader


def _described(model_state) -> dict:
    """A model as the database sees it: each field's deconstruction (whatever the order the
    fields were added in), its indexes, constraints and unique_together. Sets: the replaced
    chain's state lists case_front_door twice, a quirk of building the state over several leaf
    migrations (its database has the index once, as the squash's does)."""
    options = model_state.options
    return {
        "fields": {name: field.deconstruct()[1:] for name, field in model_state.fields.items()},
        "indexes": {repr(index) for index in options.get("indexes", [])},
        "constraints": {repr(constraint) for constraint in options.get("constraints", [])},
        "unique_together": sorted(options.get("unique_together", [])),
        "db_table": options.get("db_table"),
    }


def test_a_new_database_applies_the_squashed_migrations_not_the_ones_they_replace():
    # Migrations added later follow the squash (they may name a replaced one as a dependency:
    # Django reads it as the squash).
    _, loader = _project_state(squashed=True)
    for app in PROJECT_APPS:
        squashes = [
            key for key in loader.graph.nodes if key[0] == app and loader.graph.nodes[key].replaces
        ]
        assert len(squashes) == 1, squashes
        replaced = loader.graph.nodes[squashes[0]].replaces
        assert len(replaced) > 1
        assert not set(replaced) & set(loader.graph.nodes)


@pytest.mark.parametrize("app", PROJECT_APPS)
def test_the_squashed_migrations_end_where_the_replaced_ones_do(app):
    replaced, _ = _project_state(squashed=False)
    squashed, _ = _project_state(squashed=True)
    models = {name for app_label, name in replaced.models if app_label == app}
    assert models == {name for app_label, name in squashed.models if app_label == app}
    for name in sorted(models):
        assert _described(squashed.models[app, name]) == _described(replaced.models[app, name]), (
            name
        )
