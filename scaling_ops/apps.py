from django.apps import AppConfig


class ScalingOpsConfig(AppConfig):
    name = "scaling_ops"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.core import checks

        from scaling_ops import health, navigation
        from scaling_ops.models import Role

        checks.register(health.static_manifest_check, "production")

        everyone = Role.values
        leads = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD]
        navigation.register("Home", "org_home", everyone, order=0)
        navigation.register("Sites", "site_list", leads, order=80)
        navigation.register("Members", "membership_list", [Role.ORG_ADMIN], order=90)
        navigation.register("Partner keys", "partner_key_list", [Role.ORG_ADMIN], order=91)
