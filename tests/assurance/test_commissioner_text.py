"""Assurance free text reaching commissioners, on the learning crawl: a drift signal's and a
joint improvement process's response and history reasons carry case refs, a partner-like ref and
a person's name; a commissioner walking every page and CSV they reach finds none of them (a
placeholder instead), while a lead still reads them. A snapshot's recompute reason and the
contract's wording (component and clause descriptions, band names) are written for
commissioners by design: they read them, with the case refs redacted (no name is planted there:
a lead may name a person in the contract's wording on purpose)."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from assurance.contracts.models import (
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    PaymentBand,
)
from assurance.contracts.services import contract_terms_evaluate, funded_component_save
from assurance.models import AssuranceSnapshot, DriftSignal
from pathways.disclosure import PLACEHOLDER
from scaling_ops import tenancy
from tests.assurance.contract_helpers import bands, make_contract
from tests.assurance.helpers import APRIL_5
from tests.learning.test_commissioner_text import NAME, PARTNER_LIKE, SECRETS, crawl, planted

MAR = date(2026, 3, 1)


@pytest.fixture
def drift_text(personas, assured):
    refs = assured["refs"]
    with tenancy.scope(personas.org):
        # North's March timeliness (28.6%) breaches the term once: a joint process opens.
        contract, _, _ = make_contract(personas, mature_from={"north": MAR}, breaches=1)
        bands(contract)
        funded_component_save(
            contract=contract, by=None, kind="supervision", monthly_amount=Decimal("100")
        )
        contract_terms_evaluate(organization=personas.org, month=MAR, now=APRIL_5)
        by_design = f"Wording for {refs[0]} and {PARTNER_LIKE}."
        for number, band in enumerate(PaymentBand.objects.all()):
            band.name = f"{by_design} {number}"  # unique per contract
            band.save(update_fields=["name"])
        FundedComponent.objects.update(description=by_design)
        CorrectiveClause.objects.update(description=by_design)
        CorrectiveProcess.objects.update(
            progress=planted(refs, "progress"), improvement_action_ref=planted(refs, "ref")[:100]
        )
        CorrectiveProcess.history.update(history_change_reason=planted(refs, "reason"))
        DriftSignal.objects.update(
            coaching=planted(refs, "coaching"),
            extra_supervision=planted(refs, "extra supervision"),
            improvement_action_ref=planted(refs, "ref")[:100],
        )
        DriftSignal.history.update(history_change_reason=planted(refs, "reason"))
        AssuranceSnapshot.objects.update(reason=f"Late events for {refs[0]} and {PARTNER_LIKE}.")
    return refs


def test_a_commissioner_crawl_finds_no_case_ref_or_name_in_assurance(personas, drift_text):
    org = personas.org.slug
    bodies = crawl(personas.client(personas.commissioner), f"/o/{org}/", org)
    with tenancy.scope(personas.org):
        signal = DriftSignal.objects.get()
        snapshot = AssuranceSnapshot.objects.filter(site=personas.north).first()
        process = CorrectiveProcess.objects.get()
    # The walk reached the drift page, its signal, its CSV, the pack and the snapshots.
    for url in (
        f"/o/{org}/assurance/drift/",
        f"/o/{org}/assurance/drift/?format=csv",
        f"/o/{org}/assurance/drift/{signal.pk}/",
        f"/o/{org}/assurance/pack/",
        f"/o/{org}/assurance/snapshots/",
        f"/o/{org}/assurance/snapshots/{snapshot.pk}/",
        f"/o/{org}/contracts/{process.contract_id}/",
        f"/o/{org}/contracts/processes/{process.pk}/",
    ):
        assert url in bodies, sorted(bodies)
    leaks = {
        url: [secret for secret in SECRETS if secret in body]
        for url, body in bodies.items()
        if any(secret in body for secret in SECRETS)
    }
    assert leaks == {}
    assert PLACEHOLDER in bodies[f"/o/{org}/assurance/drift/{signal.pk}/"]
    assert PLACEHOLDER in bodies[f"/o/{org}/assurance/drift/?format=csv"]
    assert "Late events for [case ref] and [case ref]." in bodies[f"/o/{org}/assurance/snapshots/"]
    contract_page = bodies[f"/o/{org}/contracts/{process.contract_id}/"]
    assert contract_page.count("Wording for [case ref] and [case ref].") >= 3
    assert PLACEHOLDER in bodies[f"/o/{org}/contracts/processes/{process.pk}/"]


def test_a_commissioner_reads_no_case_ref_or_name_in_the_contract_csvs(personas, drift_text):
    """The crawl visits a page's CSV once (``format=csv``); the contract page offers three, told
    apart by ``what``, so each is fetched here."""
    with tenancy.scope(personas.org):
        process = CorrectiveProcess.objects.get()
    export = reverse(
        "contract_export", kwargs={"org": personas.org.slug, "pk": process.contract_id}
    )
    client = personas.client(personas.commissioner)
    bodies = {
        what: client.get(f"{export}?what={what}&month=2026-03").content.decode()
        for what in ("terms", "statement", "processes")
    }
    assert {what: [s for s in SECRETS if s in body] for what, body in bodies.items()} == {
        "terms": [],
        "statement": [],
        "processes": [],
    }
    assert "Wording for [case ref] and [case ref]." in bodies["statement"]
    assert PLACEHOLDER in bodies["processes"]


def test_a_lead_still_reads_the_drift_response(personas, drift_text):
    with tenancy.scope(personas.org):
        pk = DriftSignal.objects.get().pk
    body = (
        personas.client(personas.lead)
        .get(reverse("assurance_drift_detail", kwargs={"org": personas.org.slug, "pk": pk}))
        .content.decode()
    )
    assert NAME in body and drift_text[0] in body and PLACEHOLDER not in body


def test_a_lead_still_reads_the_process_progress(personas, drift_text):
    with tenancy.scope(personas.org):
        pk = CorrectiveProcess.objects.get().pk
    body = (
        personas.client(personas.lead)
        .get(reverse("contract_process_detail", kwargs={"org": personas.org.slug, "pk": pk}))
        .content.decode()
    )
    assert NAME in body and drift_text[0] in body and PLACEHOLDER not in body
