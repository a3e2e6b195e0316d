from django.apps import AppConfig


def _seed_pathways(context) -> None:
    from pathways.demo import seed_pathways

    seed_pathways(context)


def _seed_cases_and_reports(context) -> None:
    from pathways.demo import seed_cases_and_reports

    seed_cases_and_reports(context)


def _seed_front_door(context) -> None:
    from pathways.demo_front_door import seed_front_door

    seed_front_door(context)


def _delete_demo_cases(organization) -> None:
    from pathways.models import Case, ReferralAcceptance

    # Cases protect their site and version from cascading deletion; clear them first.
    ReferralAcceptance.objects.all().delete()
    Case.objects.all().delete()


class PathwaysConfig(AppConfig):
    name = "pathways"

    def ready(self) -> None:
        from pathways import assignees, notices
        from pathways.extension_points import (
            assignee_directories,
            queue_panels,
            site_week_figures,
        )
        from pathways.site_figures import escalation_week_figures, exception_week_figures
        from pathways.views.front_door import front_door_panel
        from scaling_ops.demo import DemoSeeder
        from scaling_ops.extension_points import (
            demo_resetters,
            demo_seeders,
            home_cards,
            navigation,
            notice_sources,
            search_providers,
        )
        from scaling_ops.models import Role
        from scaling_ops.navigation import NavItem

        staff = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR]
        navigation.register(NavItem("Exceptions", "exception_queue", staff), order=10)
        navigation.register(NavItem("Pathways", "pathway_list", Role.values), order=60)
        home_cards.register(exception_cards, order=10)
        from pathways.search import case_results

        search_providers.register(case_results, order=10)
        notice_sources.register(notices.source, key="pathways", order=10)
        site_week_figures.register(exception_week_figures, order=10)
        site_week_figures.register(escalation_week_figures, order=15)
        # Referrals held at the front door come first: they are the newest work.
        queue_panels.register(front_door_panel, order=10)
        # Members with a write role come first in the assign picker.
        assignee_directories.register(assignees.members, key=assignees.members.prefix, order=0)
        demo_seeders.register(DemoSeeder("pathways", _seed_pathways), order=100)
        demo_seeders.register(
            DemoSeeder("cases, events and daily reports", _seed_cases_and_reports), order=150
        )
        demo_seeders.register(DemoSeeder("the front door", _seed_front_door), order=160)
        # Last: the resetters of the apps above delete the rows that point at cases first.
        demo_resetters.register(_delete_demo_cases, order=900)


def exception_cards(request, membership) -> list[dict]:
    from django.urls import reverse

    from pathways.selectors.exceptions import exception_report_get, open_exception_counts
    from scaling_ops.home import card
    from scaling_ops.models import Role

    if membership.role == Role.COMMISSIONER:
        return []
    # The same figures as the queue's header, from the same selector.
    counts = open_exception_counts(membership=membership, report=exception_report_get())
    text = f"{counts.total} exceptions need action (open or assigned) in your sites"
    if counts.earlier:
        text += (
            f": {counts.on_report} on the latest daily report and {counts.earlier} still open "
            "from earlier days"
        )
    return [
        card(
            "Daily exception queue",
            f"{text}. Work the oldest first at today's huddle: assign, resolve with a "
            "corrective action, or accept with a reason.",
            reverse("exception_queue", kwargs={"org": membership.organization.slug}),
            "Open the queue",
            "bad" if counts.total else "ok",
        )
    ]
