from django.apps import AppConfig


def _seed_workforce(context) -> None:
    from workforce.demo import seed_workforce

    seed_workforce(context)


def _seed_coaching(context) -> None:
    from workforce.demo import seed_coaching

    seed_coaching(context)


def _delete_demo_workforce(organization) -> None:
    from workforce.models import CaseAssignment, CaseDecision, ReviewSample, SessionCaseReview

    # These point at cases, which the pathway resetter deletes next.
    for model in (SessionCaseReview, ReviewSample, CaseAssignment, CaseDecision):
        model.objects.all().delete()


class WorkforceConfig(AppConfig):
    name = "workforce"
    verbose_name = "Workforce"

    def import_models(self) -> None:
        # Coaching is a package of its own (workforce/coaching/); its models belong to this app.
        super().import_models()
        from importlib import import_module

        import_module(f"{self.name}.coaching.models")

    def ready(self) -> None:
        from pathways.extension_points import (
            assignee_directories,
            queue_panels,
            triage_guards,
            workforce_evidence,
            workforce_pressure,
        )
        from scaling_ops.demo import DemoSeeder
        from scaling_ops.extension_points import (
            demo_resetters,
            demo_seeders,
            home_cards,
            navigation,
            notice_sources,
            site_transition_guards,
        )
        from scaling_ops.models import Role
        from scaling_ops.navigation import NavItem
        from workforce.assignees import directory as staff_directory
        from workforce.pressure import site_evidence, site_pressure
        from workforce.services.authority import triage_accept_guard
        from workforce.services.readiness import readiness_gate

        staff_roles = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR]
        leads = [Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD]
        navigation.register(NavItem("Workforce", "workforce_overview", staff_roles), order=20)
        navigation.register(NavItem("Launch readiness", "readiness_list", leads), order=25)
        home_cards.register(workforce_cards, order=20)
        from workforce import notices

        notice_sources.register(notices.source, key="workforce", order=20)
        from pathways.extension_points import drift_response_opened, drift_response_parts
        from workforce.coaching import services as coaching

        drift_response_opened.connect(
            coaching.on_drift_response_opened, dispatch_uid="workforce_drift_response"
        )
        drift_response_parts.register(coaching.drift_response_parts)
        queue_panels.register(workforce_queue_panel)
        # The queue's "assign" offers each site's staff after the organisation's members.
        assignee_directories.register(staff_directory, key=staff_directory.prefix)
        triage_guards.register(triage_accept_guard)
        # Assurance's stability analysis and commissioners' workforce evidence read these.
        workforce_pressure.register(site_pressure)
        workforce_evidence.register(site_evidence)
        site_transition_guards.register(readiness_gate)
        # Before the pathway resetter (order 900), which deletes the cases these rows point at.
        demo_resetters.register(_delete_demo_workforce, order=200)
        demo_seeders.register(
            DemoSeeder(
                "workforce: staff, teams, training, supervision, readiness", _seed_workforce
            ),
            order=300,
        )
        # After the assurance snapshots (400), whose drift signals schedule coaching.
        demo_seeders.register(DemoSeeder("workforce: coaching", _seed_coaching), order=420)


def workforce_queue_panel(request, membership, sites) -> dict | None:
    """The open workforce integrity exceptions of the supervisor's sites, in the queue, and the
    practitioners above the maximum caseload at the end of the latest check run's day."""
    from workforce.selectors import caseload_flags, latest_run, open_exceptions

    run = latest_run()
    # Workforce exceptions and caseload flags are written only by a check run
    # (workforce_checks_compute, which makes the run in the same transaction), so an
    # organisation that has never run the checks has none: the queue, which asks on every
    # page, skips those queries and shows no empty section.
    if run is None:
        return None
    site_ids = [s.pk for s in sites]
    rows = list(open_exceptions(sites=site_ids)[:50])
    above_max, above_max_count = caseload_flags(run=run, site_ids=site_ids)
    return {
        "template": "workforce/_queue_panel.html",
        "rows": rows,
        "run": run,
        "more": len(rows) == 50,
        "above_max": above_max,
        "above_max_count": above_max_count,
    }


def workforce_cards(request, membership) -> list[dict]:
    from django.urls import reverse

    from scaling_ops.home import card
    from scaling_ops.models import Role, Site
    from workforce.selectors import site_summaries

    if membership.role == Role.COMMISSIONER:
        return []
    org = membership.organization.slug
    summaries = site_summaries(membership=membership)
    open_count = sum(s["open"] for s in summaries)
    cards = [
        card(
            "Workforce integrity",
            f"{open_count} workforce exceptions open in your sites: supervision overdue, skill "
            "mix, supervisor span, core training and onboarding, checked daily.",
            reverse("workforce_overview", kwargs={"org": org}),
            "Open workforce",
            "bad" if open_count else "ok",
        )
    ]
    if membership.role in (Role.ORG_ADMIN, Role.IMPLEMENTATION_LEAD):
        launching = [s["site"] for s in summaries if s["site"].status == Site.Status.LAUNCHING]
        if launching:
            cards.append(
                card(
                    "Launch readiness",
                    f"{', '.join(s.name for s in launching)} "
                    f"{'is' if len(launching) == 1 else 'are'} launching: work the blockers "
                    "on the readiness checklist before going live.",
                    reverse("readiness_list", kwargs={"org": org}),
                    "Open readiness",
                    "warn",
                )
            )
    return cards
