"""Pathway versions: all-or-nothing import, numbering, activation, immutability, the definition
rebuilt from rows, and diffs in words."""

import copy

import pytest
from django.core.exceptions import ValidationError

from pathways.definitions import DefinitionError, parse_definition
from pathways.models import EscalationRule, Pathway, PathwayVersion, Step, TimeStandard
from pathways.selectors.versions import (
    pathway_version_definition,
    pathway_version_definitions,
    pathway_version_diff,
    pathway_version_workflow,
    version_diff,
)
from pathways.services.versions import (
    pathway_version_activate,
    pathway_version_ensure_editable,
    pathway_version_replace_definition,
    pathway_version_retire,
)
from pathways.wording import rule_text, standard_text
from scaling_ops import tenancy
from tests.pathways.version_helpers import (
    API_EXAMPLE,
    DEMO_FILES,
    demo_definition,
    example,
    import_version,
    make_case,
    normalised,
    with_adaptable_step,
)

ACTIVE, DRAFT, RETIRED = (
    PathwayVersion.Status.ACTIVE,
    PathwayVersion.Status.DRAFT,
    PathwayVersion.Status.RETIRED,
)


def status_of(version) -> str:
    version.refresh_from_db()
    return version.status


# --- import ---------------------------------------------------------------------------------------


def test_import_creates_a_draft_version_with_its_steps_standards_and_rules(tenant, personas):
    version = import_version(created_by=personas.admin, rationale="  Pilot model.  ")
    assert version.status == DRAFT
    assert version.number == 1
    assert version.created_by == personas.admin
    assert version.rationale == "Pilot model."
    assert list(version.steps.order_by("order").values_list("key", "core")) == [
        ("intake", True),
        ("risk_assessment", True),
        ("follow_up", True),
    ]
    assert version.steps.get(key="risk_assessment").required_fields == [
        "home_risk",
        "medication_risk",
    ]
    assert version.time_standards.count() == 3
    rule = version.escalation_rules.get()
    assert (rule.key, rule.tiers, rule.missed_contacts) == (
        "repeated-missed-contacts",
        ["medium", "high"],
        2,
    )


def test_import_creates_the_pathway_by_slug_and_renames_it_on_a_later_import(tenant):
    import_version()
    import_version(example(name="Hospital-to-home stabilisation (2026)"))
    pathway = Pathway.objects.get()
    assert pathway.slug == "hospital-to-home"
    assert pathway.name == "Hospital-to-home stabilisation (2026)"


def test_versions_are_numbered_one_after_another_within_a_pathway(tenant):
    numbers = [import_version().number for _ in range(3)]
    other = import_version(example(slug="behavioural-health"))
    assert numbers == [1, 2, 3]
    assert other.number == 1


def test_version_numbers_are_per_organisation(personas):
    with tenancy.scope(personas.org):
        import_version()
        import_version()
    with tenancy.scope(personas.other_org):
        assert import_version().number == 1


def test_an_invalid_definition_is_rejected_with_every_bad_path_and_nothing_stored(tenant):
    data = example()
    data["steps"][2]["time_standards"][0]["anchor"] = "discharge"
    data["escalation_rules"][0]["missed_contacts"] = 0
    with pytest.raises(DefinitionError) as caught:
        import_version(data)
    paths = [path for path, _ in caught.value.errors]
    assert paths == ["steps[2].time_standards[0].anchor", "escalation_rules[0].missed_contacts"]
    assert not Pathway.objects.exists()
    assert not PathwayVersion.objects.exists()
    assert not Step.objects.exists()


def test_a_rejected_import_leaves_an_existing_pathway_as_it_was(tenant):
    import_version(activate=True)
    data = example(name="Renamed")
    data["steps"][0]["kind"] = "visit"
    with pytest.raises(DefinitionError):
        import_version(data)
    assert Pathway.objects.get().name == "Hospital-to-home stabilisation"
    assert PathwayVersion.objects.count() == 1


def test_a_slug_that_names_a_page_is_refused(tenant):
    with pytest.raises(DefinitionError) as caught:
        import_version(example(slug="import"))
    assert caught.value.errors == [("slug", "'import' is reserved; choose another slug")]
    assert not Pathway.objects.exists()


@pytest.mark.parametrize("name", DEMO_FILES)
def test_the_demo_pathway_files_import_cleanly_with_core_and_adaptable_steps(tenant, name):
    version = import_version(demo_definition(name), activate=True)
    cores = set(version.steps.values_list("core", flat=True))
    assert cores == {True, False}
    assert version.escalation_rules.exists()
    assert version.steps.filter(kind="assessment").exclude(required_fields=[]).exists()
    exported = pathway_version_definition(version).to_dict()
    assert exported == parse_definition(demo_definition(name)).to_dict()


# --- activation and retirement -------------------------------------------------------------------


def test_import_with_activate_makes_the_new_version_active(tenant):
    version = import_version(activate=True)
    assert status_of(version) == ACTIVE
    assert version.activated_at is not None


def test_activating_a_version_retires_the_previously_active_one(tenant, personas):
    first = import_version(activate=True)
    second = import_version()
    pathway_version_activate(version=second, by=personas.admin)
    assert (status_of(first), status_of(second)) == (RETIRED, ACTIVE)
    assert PathwayVersion.objects.filter(status=ACTIVE).count() == 1


def test_activation_leaves_cases_pinned_to_the_version_they_were_referred_on(tenant, personas):
    first = import_version(activate=True)
    case = make_case(first, personas.north, "C-1")
    pathway_version_activate(version=import_version())
    case.refresh_from_db()
    assert case.version_id == first.pk


def test_activation_of_one_pathway_leaves_other_pathways_alone(tenant):
    other = import_version(example(slug="other"), activate=True)
    import_version(activate=True)
    assert status_of(other) == ACTIVE


@pytest.mark.parametrize("activate_twice", [True, False])
def test_only_a_draft_can_be_activated(tenant, activate_twice):
    version = import_version(activate=True)
    if not activate_twice:
        pathway_version_retire(version=version)
    with pytest.raises(ValidationError, match="only a draft version can be activated"):
        pathway_version_activate(version=version)


def test_retiring_the_active_version_leaves_the_pathway_without_one(tenant):
    version = import_version(activate=True)
    pathway_version_retire(version=version)
    assert status_of(version) == RETIRED
    assert not PathwayVersion.objects.filter(status=ACTIVE).exists()


def test_a_retired_version_cannot_be_retired_again(tenant):
    version = import_version()
    pathway_version_retire(version=version)
    with pytest.raises(ValidationError, match="already retired"):
        pathway_version_retire(version=version)


def test_history_records_who_imported_activated_and_retired(tenant, personas):
    first = import_version(created_by=personas.admin, activate=True)
    pathway_version_activate(version=import_version(), by=personas.lead)
    rows = list(first.history.order_by("history_date", "history_id"))
    assert [(row.status, row.history_change_reason) for row in rows] == [
        ("draft", "imported as a draft"),
        ("active", "activated"),
        ("retired", "retired: superseded by v2"),
    ]
    assert [row.history_user for row in rows] == [personas.admin, personas.admin, personas.lead]


# --- immutability --------------------------------------------------------------------------------


@pytest.mark.parametrize("retire", [False, True])
def test_the_rows_of_an_active_or_retired_version_refuse_to_change(tenant, retire):
    version = import_version(activate=True)
    if retire:
        pathway_version_retire(version=version)
    step = Step.objects.get(version=version, key="intake")
    step.name = "Changed"
    with pytest.raises(ValidationError, match="only a draft version can change"):
        step.save()
    standard = TimeStandard.objects.filter(version=version).first()
    standard.within_hours = 1
    with pytest.raises(ValidationError):
        standard.save()
    rule = EscalationRule.objects.get(version=version)
    rule.missed_contacts = 9
    with pytest.raises(ValidationError):
        rule.save()
    with pytest.raises(ValidationError):
        Step.objects.create(version=version, key="extra", name="Extra", kind="review", order=9)


@pytest.mark.parametrize("retire", [False, True])
def test_the_definition_of_an_active_or_retired_version_cannot_be_replaced(tenant, retire):
    version = import_version(activate=True)
    if retire:
        pathway_version_retire(version=version)
    with pytest.raises(ValidationError, match="cannot change"):
        pathway_version_replace_definition(version=version, data=with_adaptable_step())
    assert version.steps.count() == 3
    with pytest.raises(ValidationError):
        pathway_version_ensure_editable(version=version)


def test_a_draft_definition_can_be_replaced_whole(tenant):
    version = import_version()
    pathway_version_replace_definition(version=version, data=with_adaptable_step())
    assert list(version.steps.order_by("order").values_list("key", flat=True)) == [
        "intake",
        "risk_assessment",
        "follow_up",
        "weekly_review",
    ]
    assert version.time_standards.count() == 4


def test_a_draft_keeps_its_pathway_slug_when_replaced(tenant):
    version = import_version()
    with pytest.raises(DefinitionError) as caught:
        pathway_version_replace_definition(version=version, data=example(slug="other"))
    assert caught.value.errors[0][0] == "slug"
    assert version.steps.count() == 3


# --- the definition rebuilt from rows ------------------------------------------------------------


def test_export_of_an_import_gives_the_api_example_back(tenant):
    version = import_version()
    exported = pathway_version_definition(version).to_dict()
    assert normalised(exported) == normalised(API_EXAMPLE)


def test_the_rebuilt_definition_equals_the_parsed_one(tenant):
    version = import_version(demo_definition(DEMO_FILES[0]))
    assert pathway_version_definition(version) == parse_definition(demo_definition(DEMO_FILES[0]))


def test_definitions_are_rebuilt_in_four_queries_however_many_versions(
    tenant, django_assert_num_queries
):
    ids = [import_version(demo_definition(name)).pk for name in DEMO_FILES * 2]
    with django_assert_num_queries(4):
        definitions = pathway_version_definitions(ids)
    assert len(definitions) == 4


def test_the_workflow_says_each_standard_and_rule_in_words(tenant):
    workflow = pathway_version_workflow(version=import_version())
    assert [step.standards for step in workflow.steps] == [
        ["within 48 h of referral"],
        ["within 72 h (3 days) of completing Intake"],
        ["within 24 h of each missed contact, for high-risk cases"],
    ]
    assert workflow.rules == [
        (
            "repeated-missed-contacts",
            "2 missed contacts within 168 h (7 days): escalate within 24 h, "
            "for medium- and high-risk cases",
        )
    ]
    assert workflow.core_count == 3


# --- wording -------------------------------------------------------------------------------------


def test_a_tiered_standard_says_which_cases_it_is_for():
    definition = parse_definition(demo_definition("hospital-to-home.json"))
    visit = definition.step("first_home_visit")
    assert [standard_text(s) for s in visit.time_standards] == [
        "within 24 h of referral, for high-risk cases",
        "within 48 h of referral, for medium-risk cases",
        "within 72 h (3 days) of referral, for low-risk cases",
    ]


def test_a_rule_for_one_missed_contact_and_all_tiers_reads_simply():
    data = example()
    data["escalation_rules"][0].update(missed_contacts=1, escalate_within_hours=1.5)
    del data["escalation_rules"][0]["tiers"]
    rule = parse_definition(data).escalation_rules[0]
    assert rule_text(rule) == "a missed contact: escalate within 1.5 h"


# --- diffs ---------------------------------------------------------------------------------------


def diff(old: dict, new: dict) -> list[str]:
    return [change.text for change in version_diff(parse_definition(old), parse_definition(new))]


def test_identical_definitions_have_no_differences():
    assert diff(API_EXAMPLE, copy.deepcopy(API_EXAMPLE)) == []


def test_a_diff_names_added_and_removed_steps():
    new = with_adaptable_step()
    del new["steps"][2]
    assert diff(API_EXAMPLE, new) == [
        "Step weekly_review (Weekly case review) added: an adaptable review step; "
        "within 168 h (7 days) of completing Risk stratification.",
        "Step follow_up (Follow-up after missed contact) removed: it was a core touchpoint step.",
    ]


def test_a_diff_names_a_step_that_stops_being_core():
    new = example()
    new["steps"][2]["core"] = False
    changes = version_diff(parse_definition(API_EXAMPLE), parse_definition(new))
    assert [(c.subject, c.action, c.key, c.text) for c in changes] == [
        ("step", "changed", "follow_up", "Step follow_up: now adaptable (was core).")
    ]


def test_a_diff_names_changed_names_kinds_and_required_fields():
    new = example()
    new["steps"][1].update(
        name="Risk and home safety", kind="review", required_fields=["home_risk", "falls_risk"]
    )
    assert diff(API_EXAMPLE, new) == [
        "Step risk_assessment: name changed from “Risk stratification” to “Risk and home safety”.",
        "Step risk_assessment: kind changed from assessment to review.",
        "Step risk_assessment: required fields added: falls_risk.",
        "Step risk_assessment: required fields removed: medication_risk.",
    ]


def test_a_diff_names_each_time_standard_added_removed_or_changed():
    new = example()
    new["steps"][0]["time_standards"] = [
        {"tiers": ["high"], "anchor": "referral", "within_hours": 24},
        {"tiers": ["low", "medium"], "anchor": "referral", "within_hours": 48},
    ]
    new["steps"][1]["time_standards"][0]["within_hours"] = 48
    new["steps"][2]["time_standards"] = []
    assert diff(API_EXAMPLE, new) == [
        "Step intake: time standard changed from within 48 h of referral "
        "to within 24 h of referral, for high-risk cases.",
        "Step intake: time standard added: within 48 h of referral, for low- and medium-risk cases.",
        "Step risk_assessment: time standard changed from within 72 h (3 days) of completing "
        "Intake to within 48 h of completing Intake.",
        "Step follow_up: time standard removed: within 24 h of each missed contact, "
        "for high-risk cases.",
    ]


def test_a_diff_names_escalation_rules_added_removed_or_changed():
    new = example()
    new["escalation_rules"] = [
        dict(API_EXAMPLE["escalation_rules"][0], key="disengagement", missed_contacts=3),
        dict(API_EXAMPLE["escalation_rules"][0], escalate_within_hours=12),
    ]
    old = example()
    old["escalation_rules"].append(dict(API_EXAMPLE["escalation_rules"][0], key="old-rule"))
    changes = version_diff(parse_definition(old), parse_definition(new))
    assert [(c.action, c.key) for c in changes] == [
        ("added", "disengagement"),
        ("changed", "repeated-missed-contacts"),
        ("removed", "old-rule"),
    ]
    assert changes[1].text == (
        "Escalation rule “Repeated missed contacts” changed from 2 missed contacts within 168 h "
        "(7 days): escalate within 24 h, for medium- and high-risk cases to 2 missed contacts "
        "within 168 h (7 days): escalate within 12 h, for medium- and high-risk cases."
    )


def test_a_diff_names_a_new_pathway_name_and_a_new_step_order():
    new = example(name="Hospital to home")
    new["steps"] = [new["steps"][0], new["steps"][2], new["steps"][1]]
    assert diff(API_EXAMPLE, new) == [
        "Name changed from “Hospital-to-home stabilisation” to “Hospital to home”.",
        "Steps reordered: intake → risk_assessment → follow_up is now "
        "intake → follow_up → risk_assessment.",
    ]


def test_stored_versions_are_diffed_from_their_rows(tenant):
    old = import_version()
    new = import_version(with_adaptable_step())
    changes = pathway_version_diff(old=old, new=new)
    assert [(c.subject, c.action, c.key) for c in changes] == [("step", "added", "weekly_review")]
