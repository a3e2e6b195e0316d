from django.apps import AppConfig


def _seed_pathways(context) -> None:
    from pathways.demo import seed_pathways

    seed_pathways(context)


def _seed_cases_and_reports(context) -> None:
    from pathways.demo import seed_cases_and_reports

    seed_cases_and_reports(context)


class PathwaysConfig(AppConfig):
    name = "pathways"

    def ready(self) -> None:
        from scaling_ops import demo, navigation
        from scaling_ops.models import Role

        navigation.register(
            "Exceptions",
            "exception_queue",
            [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR],
            order=10,
        )
        navigation.register("Pathways", "pathway_list", Role.values, order=60)
        demo.register("pathways", _seed_pathways, order=100)
        demo.register("cases, events and daily reports", _seed_cases_and_reports, order=150)
