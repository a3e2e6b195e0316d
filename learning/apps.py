from django.apps import AppConfig


def _seed_learning(context) -> None:
    from learning.demo import seed_learning

    seed_learning(context)


class LearningConfig(AppConfig):
    name = "learning"
    verbose_name = "Learning"

    def ready(self) -> None:
        from assurance.services import improvement_action_register
        from learning import hooks
        from learning.services.actions import assurance_improvement_action_provider
        from learning.services.deviations import on_exception_items_triaged
        from pathways import item_links, version_panels
        from pathways.services.exception_triage import exception_items_triaged
        from scaling_ops import demo, home, navigation
        from scaling_ops.models import Role

        navigation.register("Learning", "learning_action_list", Role.values, order=70)
        home.register(hooks.learning_cards, order=70)
        improvement_action_register(assurance_improvement_action_provider)
        exception_items_triaged.connect(
            on_exception_items_triaged, dispatch_uid="learning_deviations_from_accepted"
        )
        item_links.register(hooks.exception_item_links)
        version_panels.register(hooks.version_panel)
        demo.register(
            "learning: improvement log, deviations, reviews, change proposals",
            _seed_learning,
            order=500,
        )
