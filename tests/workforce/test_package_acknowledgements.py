"""Launch readiness's automatic item "package of the active version acknowledged by every
practitioner at the site", the acknowledgements behind it (per person per package version,
withdrawn rather than deleted), and the onboarding plan's links to the package's parts."""

import importlib

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from pathways.services.versions import site_adaptation_decide, site_adaptation_propose
from scaling_ops import tenancy
from tests.pathways.test_package import PACKAGE, bundle
from tests.pathways.version_helpers import import_version, with_adaptable_step
from tests.workforce.conftest import person
from workforce.models import ChecklistItem, ChecklistTemplate, PackageAcknowledgement
from workforce.services.packages import (
    package_acknowledge,
    package_acknowledgement_withdraw,
    package_versions_for_site,
)
from workforce.services.readiness import checklist_template_ensure, readiness_evaluate

RULE = ChecklistItem.Rule.PACKAGE_ACKNOWLEDGED


def item(site):
    readiness = readiness_evaluate(site=site)
    return next(status for status in readiness.items if status.item.rule == RULE)


@pytest.fixture
def team_with_package(personas, wf):
    with tenancy.scope(personas.org):
        version = import_version(bundle(), activate=True)
        ana = person(personas, wf["team"], "Ana Practitioner", start=timezone.localdate())
        ben = person(personas, wf["team"], "Ben Practitioner")
    return {"version": version, "ana": ana, "ben": ben}


def test_the_item_fails_until_every_practitioner_acknowledges(personas, wf, team_with_package):
    version, ana, ben = (team_with_package[k] for k in ("version", "ana", "ben"))
    with tenancy.scope(personas.org):
        status = item(personas.north)
        assert not status.passed
        assert "2 of 2 still to acknowledge (Ana Practitioner, Ben Practitioner)" in status.detail
        package_acknowledge(staff=ana, version=version, by=personas.lead)
        assert "1 of 2 still to acknowledge (Ben Practitioner)" in item(personas.north).detail
        ack = package_acknowledge(staff=ben, version=version, by=personas.lead)
        assert item(personas.north).passed
        package_acknowledgement_withdraw(acknowledgement=ack, by=personas.lead)
        assert not item(personas.north).passed
        package_acknowledge(staff=ben, version=version, by=personas.lead)
        assert item(personas.north).passed
        # The history keeps the withdrawn one.
        assert PackageAcknowledgement.objects.filter(staff=ben).count() == 2


def test_a_new_package_version_needs_acknowledging_again(personas, wf, team_with_package):
    version, ana, ben = (team_with_package[k] for k in ("version", "ana", "ben"))
    with tenancy.scope(personas.org):
        for staff in (ana, ben):
            package_acknowledge(staff=staff, version=version, by=personas.lead)
        assert item(personas.north).passed
        import_version(bundle({**PACKAGE, "intake_script": "A new script."}), activate=True)
        assert not item(personas.north).passed


def test_the_site_variant_package_is_the_one_to_acknowledge(personas, wf, team_with_package):
    version = team_with_package["version"]
    with tenancy.scope(personas.org):
        adaptation = site_adaptation_propose(
            site=personas.north, pathway=version.pathway, step_key="weekly_review",
            what="Phone script for island residents.", why="Ferries.", by=personas.lead,
            script="Call on the ferry-day morning.",
        )  # fmt: skip
        site_adaptation_decide(adaptation=adaptation, approve=True, by=personas.admin)
        [north] = package_versions_for_site(personas.north)
        [south] = package_versions_for_site(personas.south)
    assert north.variant_site == personas.north
    assert north.package["documentation"]["weekly_review"]["script"] == (
        "Call on the ferry-day morning."
    )
    assert south == version
    with tenancy.scope(personas.org), pytest.raises(ValidationError, match="do not follow"):
        package_acknowledge(staff=team_with_package["ana"], version=version, by=personas.lead)


def test_without_a_package_the_item_passes_and_says_why(personas, wf):
    with tenancy.scope(personas.org):
        import_version(with_adaptable_step(), activate=True)
        status = item(personas.north)
    assert status.passed and "carry no replication package" in status.detail


def test_the_staff_page_records_and_withdraws_and_links_onboarding_to_the_package(
    personas, wf, team_with_package
):
    ana, version = team_with_package["ana"], team_with_package["version"]
    client = personas.client(personas.supervisor)
    url = reverse("workforce_staff", kwargs={"org": personas.org.slug, "pk": ana.pk})
    page = client.get(url).content.decode()
    assert "Record acknowledgement" in page
    package_url = reverse(
        "version_package",
        kwargs={"org": personas.org.slug, "pathway": "hospital-to-home", "number": 1},
    )
    assert f'{package_url}#roles">role descriptions' in page
    assert f'{package_url}#supervision">supervision checklist' in page
    ack_url = reverse(
        "workforce_package_acknowledge",
        kwargs={"org": personas.org.slug, "pk": ana.pk, "version": version.pk},
    )
    assert personas.client(personas.commissioner).post(ack_url).status_code in (403, 404)
    assert personas.client(personas.outsider).post(ack_url).status_code == 404
    assert client.post(ack_url).status_code == 302
    with tenancy.scope(personas.org):
        ack = PackageAcknowledgement.objects.get(staff=ana, withdrawn_at__isnull=True)
    page = client.get(url).content.decode()
    assert "Withdraw" in page
    withdraw_url = reverse(
        "workforce_package_withdraw",
        kwargs={"org": personas.org.slug, "pk": ana.pk, "acknowledgement": ack.pk},
    )
    assert personas.client(personas.outsider).post(withdraw_url).status_code == 404
    assert client.post(withdraw_url).status_code == 302
    with tenancy.scope(personas.org):
        ack.refresh_from_db()
    assert ack.withdrawn_at is not None


# --- organisations whose checklist predates the item --------------------------------------------


def checklist_before_issue_18():
    """The built-in checklist as organisations had it before the package item existed."""
    from workforce.services import readiness

    old_items = [spec for spec in readiness.DEFAULT_ITEMS if spec[3] != RULE]
    template = ChecklistTemplate.objects.create(
        name=readiness.DEFAULT_NAME, version=1, status=ChecklistTemplate.Status.ACTIVE
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            organization_id=template.organization_id, template=template, key=key, title=title,
            kind=kind, rule=rule, guidance=guidance, position=position,
        )
        for position, (key, title, kind, rule, guidance) in enumerate(old_items)
    )  # fmt: skip
    return template


def migrate_checklists():
    from django.apps import apps

    migration = importlib.import_module(
        "workforce.migrations.0005_checklist_package_acknowledged_item"
    )
    return migration.add_package_item(apps, None)


def test_an_existing_organisations_checklist_gains_the_item_as_a_new_version(
    personas, wf, team_with_package
):
    version, ana, ben = (team_with_package[k] for k in ("version", "ana", "ben"))
    with tenancy.scope(personas.org):
        old = checklist_before_issue_18()
        assert all(
            status.item.rule != RULE for status in readiness_evaluate(site=personas.north).items
        )
    assert migrate_checklists() == [personas.org.pk]
    with tenancy.scope(personas.org):
        old.refresh_from_db()
        assert old.status == ChecklistTemplate.Status.RETIRED
        new = ChecklistTemplate.objects.get(status=ChecklistTemplate.Status.ACTIVE)
        assert new.version == 2
        keys = list(new.items.values_list("key", flat=True))
        assert keys == [
            *list(old.items.values_list("key", flat=True))[:5], "package-acknowledged",
            *list(old.items.values_list("key", flat=True))[5:],
        ]  # fmt: skip
        assert list(new.history.values_list("history_change_reason", flat=True))[0].startswith(
            "Activated: Adds the automatic item"
        )
        # The item now fails and passes with the acknowledgements, as in a new organisation.
        assert not item(personas.north).passed
        package_acknowledge(staff=ana, version=version, by=personas.lead)
        package_acknowledge(staff=ben, version=version, by=personas.lead)
        assert item(personas.north).passed
    # Run again (or for an organisation that already has it): nothing changes.
    assert migrate_checklists() == []
    with tenancy.scope(personas.org):
        assert ChecklistTemplate.objects.count() == 2


def test_a_checklist_that_dropped_the_item_on_purpose_keeps_it_dropped(personas, wf):
    from workforce.services.readiness import (
        checklist_template_activate,
        checklist_template_new_version,
    )

    with tenancy.scope(personas.org):
        base = checklist_template_ensure()
        dropped = checklist_template_new_version(
            base=base,
            by=personas.admin,
            note="No packages here yet",
            remove_keys=["package-acknowledged"],
        )
        checklist_template_activate(template=dropped, by=personas.admin)
    assert migrate_checklists() == []
    with tenancy.scope(personas.org):
        active = ChecklistTemplate.objects.get(status=ChecklistTemplate.Status.ACTIVE)
        assert active.pk == dropped.pk
        assert not active.items.filter(rule=RULE).exists()
