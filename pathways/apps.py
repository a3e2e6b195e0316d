from django.apps import AppConfig


def _seed_pathways(context) -> None:
    from pathways.demo import seed_pathways

    seed_pathways(context)


def _seed_cases_and_reports(context) -> None:
    from pathways.demo import seed_cases_and_reports

    seed_cases_and_reports(context)


def _delete_demo_cases(organization) -> None:
    from pathways.models import Case

    # Cases protect their site and version from cascading deletion; clear them first.
    Case.objects.all().delete()


class PathwaysConfig(AppConfig):
    name = "pathways"

    def ready(self) -> None:
        from scaling_ops import demo, home, navigation
        from scaling_ops.models import Role

        navigation.register(
            "Exceptions",
            "exception_queue",
            [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR],
            order=10,
        )
        navigation.register("Pathways", "pathway_list", Role.values, order=60)
        home.register(exception_cards, order=10)
        demo.register("pathways", _seed_pathways, order=100)
        if _delete_demo_cases not in demo.resetters:
            demo.resetters.append(_delete_demo_cases)
        demo.register("cases, events and daily reports", _seed_cases_and_reports, order=150)


def exception_cards(request, membership) -> list[dict]:
    from django.urls import reverse

    from pathways.models import ExceptionItem
    from scaling_ops.home import card
    from scaling_ops.models import Role
    from scaling_ops.selectors import visible_sites

    if membership.role == Role.COMMISSIONER:
        return []
    open_items = ExceptionItem.objects.filter(
        site__in=visible_sites(membership),
        status__in=[ExceptionItem.Status.OPEN, ExceptionItem.Status.ASSIGNED],
    ).count()
    return [
        card(
            "Daily exception queue",
            f"{open_items} exceptions are open or assigned in your sites. Work the oldest first "
            "at today's huddle: assign, resolve with a corrective action, or accept with a reason.",
            reverse("exception_queue", kwargs={"org": membership.organization.slug}),
            "Open the queue",
            "bad" if open_items else "ok",
        )
    ]
