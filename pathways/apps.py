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
        from pathways import assignees, notices
        from pathways.extension_points import assignee_directories
        from scaling_ops.demo import DemoSeeder
        from scaling_ops.extension_points import (
            demo_resetters,
            demo_seeders,
            home_cards,
            navigation,
            notice_sources,
        )
        from scaling_ops.models import Role
        from scaling_ops.navigation import NavItem

        staff = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR]
        navigation.register(NavItem("Exceptions", "exception_queue", staff), order=10)
        navigation.register(NavItem("Pathways", "pathway_list", Role.values), order=60)
        home_cards.register(exception_cards, order=10)
        notice_sources.register(notices.source, key="pathways", order=10)
        from pathways.extension_points import site_week_figures
        from pathways.site_figures import exception_week_figures

        site_week_figures.register(exception_week_figures, order=10)
        # Members with a write role come first in the assign picker.
        assignee_directories.register(assignees.members, key=assignees.members.prefix, order=0)
        demo_seeders.register(DemoSeeder("pathways", _seed_pathways), order=100)
        demo_seeders.register(
            DemoSeeder("cases, events and daily reports", _seed_cases_and_reports), order=150
        )
        # Last: the resetters of the apps above delete the rows that point at cases first.
        demo_resetters.register(_delete_demo_cases, order=900)


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
