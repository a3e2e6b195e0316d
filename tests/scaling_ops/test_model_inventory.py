"""Every project model is tenant-scoped or on a short allow-list with its reason."""

from django.apps import apps

from scaling_ops.tenancy import TenantManager

PROJECT_APPS = {"scaling_ops", "pathways", "workforce", "assurance", "learning"}

ALLOWED_UNSCOPED = {
    "scaling_ops.Organization": "it is the tenant itself",
}


def is_history_of_tenant_model(model) -> bool:
    """simple-history's append-only rows copy the organization column of the record they track;
    they are only ever read through that record's ``history`` of a scoped instance."""
    return model.__name__.startswith("Historical") and any(
        field.name == "organization" for field in model._meta.fields
    )


def test_every_project_model_is_scoped_or_allowed():
    offenders = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        label = f"{model._meta.app_label}.{model.__name__}"
        if label in ALLOWED_UNSCOPED or is_history_of_tenant_model(model):
            continue
        scoped = isinstance(model._default_manager, TenantManager) and any(
            field.name == "organization" for field in model._meta.fields
        )
        if not scoped:
            offenders.append(label)
    assert offenders == [], f"models neither tenant-scoped nor allow-listed: {offenders}"


def test_the_inventory_sees_the_core_models():
    labels = {m._meta.label for m in apps.get_models()}
    assert {"scaling_ops.Site", "scaling_ops.Membership", "scaling_ops.PartnerKey"} <= labels
