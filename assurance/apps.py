from importlib import import_module

from django.apps import AppConfig


def _seed_assurance(context) -> None:
    from assurance.demo import seed_assurance

    seed_assurance(context)


def _delete_demo_assurance(organization) -> None:
    from assurance.models import DriftSignal, Incident

    # Drift signals protect their snapshot and incidents their site from cascading deletion.
    DriftSignal.objects.all().delete()
    Incident.objects.all().delete()


def _seed_drift_responses(context) -> None:
    from assurance.demo import seed_drift_responses

    seed_drift_responses(context)


class AssuranceConfig(AppConfig):
    name = "assurance"
    verbose_name = "Assurance"

    def import_models(self) -> None:
        # Contracts are a package of their own (assurance/contracts/); their models belong to
        # this app and are registered with it here, not re-exported by assurance.models.
        super().import_models()
        import_module(f"{self.name}.contracts.models")

    def ready(self) -> None:
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
        navigation.register(NavItem("Assurance", "assurance_overview", Role.values), order=40)
        navigation.register(NavItem("Audits & incidents", "assurance_audit_list", staff), order=41)
        home_cards.register(assurance_cards, order=40)
        from assurance import notices

        notice_sources.register(notices.source, key="assurance", order=40)
        from assurance.services.drift_response import audit_and_drift_week_figures
        from pathways.extension_points import site_week_figures

        site_week_figures.register(audit_and_drift_week_figures, order=40)
        from assurance.services.drift import on_drift_response_part_done
        from pathways.extension_points import drift_response_part_done

        drift_response_part_done.connect(
            on_drift_response_part_done, dispatch_uid="assurance_drift_recovery_rejudge"
        )
        # Before the workforce (200) and pathway (900) resetters, as the demo always ran them.
        demo_resetters.register(_delete_demo_assurance, order=100)
        demo_seeders.register(
            DemoSeeder("assurance: audits, incidents, baselines, snapshots", _seed_assurance),
            order=400,
        )
        # After workforce's coaching (420): the re-audit samples and the verdicts they allow.
        demo_seeders.register(
            DemoSeeder("assurance: drift responses and re-audits", _seed_drift_responses),
            order=430,
        )
        from assurance.contracts import register_contracts

        register_contracts()
        # Registers assurance's free-text fields with the commissioner disclosure rule.
        import_module(f"{self.name}.disclosure")


def assurance_cards(request, membership) -> list[dict]:
    from django.urls import reverse

    from assurance import selectors
    from assurance.models import AuditRecord, DriftSignal
    from scaling_ops.home import card
    from scaling_ops.models import Role

    org = membership.organization.slug
    months = selectors.snapshot_months(membership=membership)
    if not months:
        if membership.role == Role.COMMISSIONER:
            return [
                card(
                    "Monthly assurance",
                    "No monthly snapshot has been computed for your sites yet.",
                    reverse("assurance_overview", kwargs={"org": org}),
                    "Open assurance",
                )
            ]
        return []
    latest = selectors.latest_complete_month(membership=membership) or months[0]
    to_date = f" ({months[0]:%B} to date is computed too)" if months[0] != latest else ""
    signals = (
        selectors.drift_signals(membership=membership)
        .filter(status__in=[DriftSignal.Status.OPEN, DriftSignal.Status.RESPONDING])
        .count()
    )
    cards = [
        card(
            "Monthly assurance",
            f"Latest month {latest:%B %Y}{to_date}. {signals} drift signal"
            f"{'s' if signals != 1 else ''} "
            "open or being answered in your sites. Review the run charts, equity gaps and "
            "outcomes against comparators, or print the month's pack.",
            reverse("assurance_overview", kwargs={"org": org}) + f"?month={latest:%Y-%m}",
            "Open assurance",
            "bad" if signals else "ok",
        )
    ]
    if membership.role != Role.COMMISSIONER:
        pending = AuditRecord.objects.filter(
            audited_at__isnull=True, sample__site__in=selectors.visible_sites(membership)
        ).count()
        if pending:
            cards.append(
                card(
                    "Record audits",
                    f"{pending} sampled records are waiting to be audited.",
                    reverse("assurance_audit_list", kwargs={"org": org}),
                    "Audit records",
                    "warn",
                )
            )
    return cards
