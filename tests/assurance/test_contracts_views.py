"""Contract pages: a commissioner reads only the contracts that name them, only for the sites
they hold, never a case ref, and can write nothing; leads create and edit contracts and parts."""

import csv
import io
from datetime import date

import pytest

from assurance.contracts.models import Contract, ContractSite, CorrectiveProcess, PerformanceTerm
from assurance.contracts.services import contract_terms_evaluate
from assurance.services import metric_definitions_ensure
from pathways.models import Case
from scaling_ops import tenancy
from tests.assurance.contract_helpers import bands, make_contract, snapshot
from tests.assurance.helpers import APRIL_5

MAR = date(2026, 3, 1)


@pytest.fixture
def contracts(personas, assured):
    """March computed for north and south (cases with SECRETREF refs); contract A covers both
    sites and names the commissioner (who holds only north); contract B names nobody."""
    with tenancy.scope(personas.org):
        a, term, _ = make_contract(
            personas,
            reference="county-a",
            sites=[personas.north, personas.south],
            mature_from={"north": date(2026, 1, 1)},
            breaches=1,
        )
        bands(a)
        b, _, _ = make_contract(personas, reference="county-b", commissioners=[])
        contract_terms_evaluate(organization=personas.org, month=MAR, now=APRIL_5)
    return {"a": a, "b": b, "term": term}


def url(personas, tail=""):
    return f"/o/{personas.org.slug}/contracts/{tail}"


def test_a_commissioner_lists_only_the_contracts_that_name_them(personas, contracts):
    response = personas.client(personas.commissioner).get(url(personas))
    assert response.status_code == 200
    assert b"county-a" in response.content
    assert b"county-b" not in response.content


def test_a_contract_not_naming_the_commissioner_is_not_found(personas, contracts):
    client = personas.client(personas.commissioner)
    assert client.get(url(personas, f"{contracts['b'].pk}/")).status_code == 404
    assert client.get(url(personas, f"{contracts['b'].pk}/export/")).status_code == 404


def test_a_commissioner_sees_only_the_sites_they_hold(personas, contracts):
    client = personas.client(personas.commissioner)
    page = client.get(url(personas, f"{contracts['a'].pk}/?month=2026-03"))
    assert page.status_code == 200
    text = page.content.decode()
    assert personas.north.name in text
    assert personas.south.name not in text
    export = client.get(url(personas, f"{contracts['a'].pk}/export/?what=terms")).content.decode()
    assert ",North," in export and ",South," not in export
    statement = client.get(
        url(personas, f"{contracts['a'].pk}/export/?what=statement&month=2026-03")
    ).content.decode()
    assert ",North," in statement and ",South," not in statement


def test_a_commissioner_never_sees_a_case_ref(personas, contracts, assured):
    with tenancy.scope(personas.org):
        process = CorrectiveProcess.objects.filter(site=personas.north).first()
    client = personas.client(personas.commissioner)
    pk = contracts["a"].pk
    paths = [
        url(personas),
        url(personas, "?format=csv"),
        url(personas, f"{pk}/?month=2026-03"),
        url(personas, f"{pk}/export/?what=terms"),
        url(personas, f"{pk}/export/?what=statement&month=2026-03"),
        url(personas, f"{pk}/export/?what=processes"),
    ]
    if process is not None:
        paths.append(url(personas, f"processes/{process.pk}/"))
    assert assured["refs"]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        for ref in assured["refs"]:
            assert ref not in body, f"{ref} leaked on {path}"


def test_the_commissioner_page_offers_no_edit(personas, contracts):
    body = (
        personas.client(personas.commissioner)
        .get(url(personas, f"{contracts['a'].pk}/?month=2026-03"))
        .content.decode()
    )
    main = body[body.index("<main ") :]
    assert 'method="post"' not in main
    assert "/manage/" not in body and "Re-evaluate" not in body


def test_a_commissioner_cannot_open_the_lead_pages(personas, contracts):
    client = personas.client(personas.commissioner)
    pk = contracts["a"].pk
    for tail in ["new/", f"{pk}/edit/", f"{pk}/manage/", f"{pk}/history/", f"{pk}/term/add/"]:
        assert client.get(url(personas, tail)).status_code == 403, tail
    assert client.post(url(personas, f"{pk}/evaluate/")).status_code == 403


def test_the_list_page_query_count_does_not_grow_with_contracts(
    personas, contracts, django_assert_max_num_queries
):
    client = personas.client(personas.lead)
    with tenancy.scope(personas.org):
        for n in range(5):
            make_contract(personas, reference=f"extra-{n}")
    with django_assert_max_num_queries(14):
        response = client.get(url(personas))
    assert response.status_code == 200
    assert response.content.decode().count("<code>extra-") == 5


def test_the_detail_page_query_count_is_bounded(personas, contracts, django_assert_max_num_queries):
    client = personas.client(personas.lead)
    with django_assert_max_num_queries(40):
        response = client.get(url(personas, f"{contracts['a'].pk}/?month=2026-03"))
    assert response.status_code == 200
    assert 'data-chart="term-' in response.content.decode()


def test_a_lead_creates_a_contract_and_adds_parts(personas, tenant):
    metrics = metric_definitions_ensure()
    from tests.pathways.version_helpers import import_version, with_adaptable_step

    version = import_version(with_adaptable_step(), activate=True)
    client = personas.client(personas.lead)
    response = client.post(
        url(personas, "new/"),
        {
            "reference": "moor-2027",
            "name": "Moor County",
            "commissioner_name": "Moor County Council",
            "county": "Moor County",
            "period_start": "2027-01-01",
            "period_end": "2027-12-31",
            "pathways": [version.pathway.pk],
            "commissioners": [personas.commissioner.pk],
            "notes": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = Contract.objects.get(reference="moor-2027")
    assert list(contract.commissioners.all()) == [personas.commissioner]
    site = client.post(
        url(personas, f"{contract.pk}/site/add/"),
        {"site": personas.north.pk, "mature_from": "2027-07-01"},
    )
    assert site.status_code == 302
    term = client.post(
        url(personas, f"{contract.pk}/term/add/"),
        {
            "clause": "5.1",
            "metric": metrics["timeliness"].pk,
            "step": "",
            "implementation_target": 80,
            "implementation_threshold": 60,
            "mature_target": 90,
            "mature_threshold": 75,
            "evaluation_months": 1,
        },
    )
    assert term.status_code == 302
    refused = client.post(
        url(personas, f"{contract.pk}/term/add/"),
        {
            "clause": "5.1",
            "metric": metrics["timeliness"].pk,
            "implementation_target": 80,
            "implementation_threshold": 60,
            "mature_target": 90,
            "mature_threshold": 75,
            "evaluation_months": 1,
        },
    )
    assert refused.status_code == 200
    assert "Clause 5.1 is used by another term" in refused.content.decode()
    protected = client.post(
        url(personas, f"{contract.pk}/protected/add/"),
        {
            "clause": "4.1",
            "pathway": version.pathway.pk,
            "step_key": "weekly_review",
            "standard": "",
        },
    )
    assert protected.status_code == 302
    assert ContractSite.objects.get(contract=contract).mature_from == date(2027, 7, 1)
    assert PerformanceTerm.objects.filter(contract=contract).count() == 1
    history = client.get(url(personas, f"{contract.pk}/history/")).content.decode()
    assert "Performance term" in history and "Protected core" in history and "lena" in history


def test_a_supervisor_reads_contracts_of_their_sites_but_cannot_manage(personas, contracts):
    client = personas.client(personas.supervisor)
    assert client.get(url(personas, f"{contracts['a'].pk}/")).status_code == 200
    assert client.get(url(personas, f"{contracts['a'].pk}/manage/")).status_code == 403


def test_the_corrective_process_shows_on_the_lead_and_commissioner_pages(personas, tenant):
    contract, _, _ = make_contract(personas, mature_from={"north": date(2026, 1, 1)}, breaches=1)
    snapshot(personas.north, MAR, {"timeliness": (40, 100)})
    contract_terms_evaluate(organization=personas.org, month=MAR, now=APRIL_5)
    process = CorrectiveProcess.objects.get()
    for user in (personas.lead, personas.commissioner):
        body = personas.client(user).get(url(personas, f"{contract.pk}/")).content.decode()
        assert "Open joint improvement processes" in body
        assert f"/contracts/processes/{process.pk}/" in body
    assert Case.objects.count() == 0


# --- a month in progress ---------------------------------------------------------------------

APR = date(2026, 4, 1)


@pytest.fixture
def april_running(personas, contracts):
    """April computed on 5 April for north: 10/100 so far, which would read as a breach."""
    with tenancy.scope(personas.org):
        snapshot(personas.north, APR, {"timeliness": (10, 100)}, partial=True, cutoff=APRIL_5)
        contract_terms_evaluate(organization=personas.org, month=APR, now=APRIL_5)
    return contracts


def test_the_contract_page_opens_on_the_last_complete_month(personas, april_running):
    client = personas.client(personas.commissioner)
    page = client.get(url(personas, f"{april_running['a'].pk}/"))
    assert page.context["month"] == MAR
    text = page.content.decode()
    assert "April 2026, partial (to 5 Apr 2026)</option>" in text
    # Asked for, the running month shows its figure with no verdict.
    april = client.get(url(personas, f"{april_running['a'].pk}/?month=2026-04")).content.decode()
    assert "In progress" in april and "partial (to 5 Apr 2026)" in april
    assert "Breached" not in april[april.index("Performance terms in") : april.index("<h2>Terms")]


def test_the_terms_csv_labels_the_running_month_partial_and_gives_it_no_status(
    personas, april_running
):
    export = personas.client(personas.commissioner).get(
        url(personas, f"{april_running['a'].pk}/export/?what=terms")
    )
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    april = [r for r in rows if r["Month"] == "2026-04"]
    assert april and all(
        (r["Status"], r["Partial"]) == ("In progress", "partial (to 5 Apr 2026)") for r in april
    )
    march = [r for r in rows if r["Month"] == "2026-03"]
    assert march and all(r["Partial"] == "" and r["Status"] != "In progress" for r in march)
