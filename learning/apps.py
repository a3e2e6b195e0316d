from django.apps import AppConfig


def _seed_learning(context) -> None:
    from learning.demo import seed_learning

    seed_learning(context)


def _seed_pilot(context) -> None:
    from learning.demo import seed_pilot

    seed_pilot(context)


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        from assurance.extension_points import improvement_action_providers
        from learning import hooks, notices
        from learning.search import learning_results
        from learning.services.actions import (
            assurance_improvement_action_provider,
            follow_up_raise,
            follow_ups_for,
        )
        from learning.services.deviations import on_exception_items_triaged
        from pathways.extension_points import (
            exception_items_triaged,
            follow_up_actions,
            item_links,
            version_panels,
        )
        from pathways.site_figures import FollowUpLog
        from scaling_ops.demo import DemoSeeder
        from scaling_ops.extension_points import (
            demo_seeders,
            home_cards,
            navigation,
            notice_sources,
            search_providers,
        )
        from scaling_ops.models import Role
        from scaling_ops.navigation import NavItem

        navigation.register(NavItem("Learning", "learning_action_list", Role.values), order=70)
        home_cards.register(hooks.learning_cards, order=70)
        notice_sources.register(notices.source, key="learning", order=70)
        search_providers.register(learning_results, order=70)
        improvement_action_providers.register(assurance_improvement_action_provider)
        follow_up_actions.register(FollowUpLog(follow_up_raise, follow_ups_for), key="learning")
        exception_items_triaged.connect(
            on_exception_items_triaged, dispatch_uid="learning_deviations_from_accepted"
        )
        item_links.register(hooks.exception_item_links)
        version_panels.register(hooks.version_panel)
        demo_seeders.register(
            DemoSeeder("learning: a change proposal in pilot", _seed_pilot), order=120
        )
        demo_seeders.register(
            DemoSeeder(
                "learning: improvement log, deviations, reviews, change proposals", _seed_learning
            ),
            order=500,
        )
