from django.apps import AppConfig


class ScalingOpsConfig(AppConfig):
    name = "scaling_ops"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.core import checks

        from scaling_ops import health
        from scaling_ops.extension_points import home_cards, navigation
        from scaling_ops.home import core_cards
        from scaling_ops.models import Role
        from scaling_ops.navigation import NavItem
        from scaling_ops.sessions import mark_seen_at_login

        user_logged_in.connect(mark_seen_at_login, dispatch_uid="scaling_ops_idle_clock")

        # Deploy checks (`manage.py check --deploy`, which compose runs before migrate): offline
        # commands such as makemigrations run without a secret or collected static files.
        checks.register(health.production_settings_check, "production", deploy=True)
        checks.register(health.static_manifest_check, "production", deploy=True)

        everyone = Role.values
        leads = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD]
        navigation.register(NavItem("Home", "org_home", everyone), order=0)
        navigation.register(NavItem("Sites", "site_list", leads), order=80)
        navigation.register(NavItem("Members", "membership_list", [Role.ORG_ADMIN]), order=90)
        navigation.register(NavItem("Partner keys", "partner_key_list", [Role.ORG_ADMIN]), order=91)
        home_cards.register(core_cards, order=90)
        from scaling_ops.demo import DemoSeeder
        from scaling_ops.extension_points import demo_seeders
        from scaling_ops.notifications import seed_demo_notices

        # Last: every app's data is in place, so every reminder and digest due today is made.
        demo_seeders.register(DemoSeeder("notices", seed_demo_notices), order=950)
