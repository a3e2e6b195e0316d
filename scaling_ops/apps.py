from django.apps import AppConfig


class ScalingOpsConfig(AppConfig):
    name = "scaling_ops"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from scaling_ops import navigation
        from scaling_ops.models import Role
        from scaling_ops.sessions import mark_seen_at_login

        user_logged_in.connect(mark_seen_at_login, dispatch_uid="scaling_ops_idle_clock")

        everyone = Role.values
        leads = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD]
        navigation.register("Home", "org_home", everyone, order=0)
        navigation.register("Sites", "site_list", leads, order=80)
        navigation.register("Members", "membership_list", [Role.ORG_ADMIN], order=90)
        navigation.register("Partner keys", "partner_key_list", [Role.ORG_ADMIN], order=91)
