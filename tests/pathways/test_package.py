"""The replication package travels with its pathway version: imported and exported with it
(one JSON bundle, round-trip unchanged), frozen with it, shown in the version diff and as a
printable document."""

import copy
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from pathways.definitions import DefinitionError
from pathways.models import PathwayVersion
from pathways.package import package_missing_parts
from pathways.selectors.versions import pathway_version_bundle, pathway_version_diff
from pathways.services.versions import pathway_version_replace_definition
from tests.pathways.version_helpers import import_version, with_adaptable_step

PACKAGE = {
    "roles": [
        {
            "key": "care_coordinator",
            "title": "Care coordinator",
            "description": "Holds the case from intake to closure.",
        }
    ],
    "training_modules": [{"code": "h2h-core", "title": "Hospital-to-home core skills"}],
    "shadowing_plan": [
        {"title": "Shadow two intakes", "description": "With an experienced coordinator."}
    ],
    "supervision_checklist": ["Every high-risk case discussed", "Missed contacts reviewed"],
    "documentation": {
        "intake": {"guidance": "Record who referred and the discharge date."},
        "risk_assessment": {"guidance": "Score home and medication risk."},
        "follow_up": {"guidance": "Record the contact attempt."},
        "weekly_review": {"guidance": "Review the plan.", "script": "Ask how the week went."},
    },
    "intake_script": "Introduce yourself, explain the service, agree the first visit.",
    "referral_guidance": "Refer on the day of discharge; include the discharge summary.",
}


def bundle(package=PACKAGE) -> dict:
    data = with_adaptable_step()
    data["package"] = copy.deepcopy(package)
    return data


@pytest.fixture
def version(tenant):
    return import_version(bundle(), activate=True)


def test_a_package_round_trips_through_export_and_import_unchanged(personas, version):
    exported = pathway_version_bundle(version)
    assert exported["package"] == PACKAGE
    again = import_version(json.loads(json.dumps(exported)))
    assert again.package == version.package == PACKAGE
    assert pathway_version_bundle(again) == exported
    assert pathway_version_diff(old=version, new=again) == []


def test_the_download_is_the_bundle(personas, version):
    url = reverse(
        "version_export",
        kwargs={"org": personas.org.slug, "pathway": "hospital-to-home", "number": 1},
    )
    body = json.loads(personas.client(personas.admin).get(url).content)
    assert body["package"] == PACKAGE and body["slug"] == "hospital-to-home"


def test_a_package_change_is_a_new_version_shown_in_the_diff(personas, version):
    changed = copy.deepcopy(PACKAGE)
    changed["intake_script"] = "Introduce yourself and ask what matters most."
    changed["roles"].append({"key": "peer_worker", "title": "Peer worker", "description": ""})
    newer = import_version(bundle(changed))
    rows = {(c.subject, c.action, c.key) for c in pathway_version_diff(old=version, new=newer)}
    assert ("package: intake script", "changed", "") in rows
    assert ("package: role descriptions", "added", "peer_worker") in rows
    with pytest.raises(ValidationError, match="cannot change"):
        pathway_version_replace_definition(version=version, data=bundle(changed))


def test_package_problems_are_listed_with_their_paths_and_nothing_is_stored(personas, tenant):
    broken = copy.deepcopy(PACKAGE)
    broken["documentation"]["home_visit"] = {"guidance": "x"}
    broken["roles"][0]["key"] = "Care Coordinator"
    broken["intake_script"] = "x" * 5000
    with pytest.raises(DefinitionError) as caught:
        import_version(bundle(broken))
    paths = {path for path, _ in caught.value.errors}
    assert {
        "package.documentation.home_visit",
        "package.roles[0].key",
        "package.intake_script",
    } <= paths
    assert not PathwayVersion.objects.exists()


def test_missing_parts_are_named(personas, tenant):
    partial = {"intake_script": "Hello", "documentation": {"intake": {"guidance": "x"}}}
    missing = package_missing_parts(partial, step_keys=["intake", "risk_assessment"])
    assert "Role descriptions" in missing
    assert "documentation template for risk_assessment" in missing
    assert package_missing_parts(PACKAGE, step_keys=list(PACKAGE["documentation"])) == []


def test_the_printable_package_shows_each_part_and_the_steps_required_fields(personas, version):
    url = reverse(
        "version_package",
        kwargs={"org": personas.org.slug, "pathway": "hospital-to-home", "number": 1},
    )
    page = personas.client(personas.commissioner).get(url).content.decode()
    for text in (
        "Care coordinator",
        "Hospital-to-home core skills",
        "Shadow two intakes",
        "Every high-risk case discussed",
        "home_risk, medication_risk",
        "Ask how the week went.",
        "Introduce yourself, explain the service",
        "Refer on the day of discharge",
    ):
        assert text in page


def test_the_printable_package_is_404_for_an_outsider_and_read_only(personas, version):
    url = reverse(
        "version_package",
        kwargs={"org": personas.org.slug, "pathway": "hospital-to-home", "number": 1},
    )
    assert personas.client(personas.outsider).get(url).status_code == 404
    assert personas.client(personas.commissioner).post(url).status_code in (403, 405)
