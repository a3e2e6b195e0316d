"""The served OpenAPI schema is the partner's reference (../shared/API.md): JSON-only bodies, every
refusal documented in the error shape, the limits stated, operations described in words. And a
client generated from it by openapi-python-client imports and works against a running server."""

import importlib
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from urllib.request import urlopen

import pytest
from rest_framework.test import APIClient

from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.api_helpers import partner_client
from tests.pathways.exception_helpers import DAY, build_version, overdue_case

ERRORS_REF = "#/components/schemas/Errors"
# The refusals each operation can answer; 401 and 429 come from the key check and throttle.
EXPECTED_ERRORS = {
    ("/api/v1/cases/{external_ref}/", "get"): {"400", "401", "404", "409", "429"},
    ("/api/v1/cases/{external_ref}/", "put"): {"400", "401", "403", "409", "413", "429"},
    ("/api/v1/events/", "post"): {"400", "401", "409", "413", "429"},
    ("/api/v1/exceptions/", "get"): {"400", "401", "403", "404", "429"},
}


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_schema_lists_exactly_the_partner_operations(schema):
    assert {(path, method) for path, method, _ in operations(schema)} == set(EXPECTED_ERRORS)


def test_request_bodies_are_json_only(schema):
    bodies = [op["requestBody"] for _, _, op in operations(schema) if "requestBody" in op]
    assert len(bodies) == 2
    for body in bodies:
        assert set(body["content"]) == {"application/json"}


def test_every_refusal_is_documented_in_the_error_shape(schema):
    for path, method, operation in operations(schema):
        refusals = {code for code in operation["responses"] if code.startswith(("4", "5"))}
        assert refusals == EXPECTED_ERRORS[(path, method)], (path, method)
        for code in refusals:
            response = operation["responses"][code]
            assert response["description"], (path, method, code)
            assert response["content"]["application/json"]["schema"]["$ref"] == ERRORS_REF


def test_the_limits_are_in_the_schema(schema):
    components = schema["components"]["schemas"]
    batch = components["EventBatch"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 1000)
    assert {"$ref": "#/components/schemas/EventBatch"} in components["EventOrBatch"]["oneOf"]
    case_in = components["CaseIn"]["properties"]
    assert (case_in["site"]["minLength"], case_in["site"]["maxLength"]) == (1, 40)
    assert (case_in["pathway"]["minLength"], case_in["pathway"]["maxLength"]) == (1, 80)
    event_in = components["EventIn"]["properties"]
    assert (event_in["id"]["minLength"], event_in["id"]["maxLength"]) == (1, 100)
    assert (event_in["case"]["minLength"], event_in["case"]["maxLength"]) == (1, 100)
    assert event_in["step"]["maxLength"] == 80
    assert "1900-01-01" in event_in["occurred_at"]["description"]
    assert "1900-01-01" in components["CaseIn"]["properties"]["referral_at"]["description"]
    listing = schema["paths"]["/api/v1/exceptions/"]["get"]
    page_size = next(p for p in listing["parameters"] if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 1000)


def test_every_operation_is_described_for_people(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (path, method)
        # A sentence or more for the partner, not a view's docstring in reStructuredText.
        description = operation.get("description", "")
        assert len(description) > 60 and "``" not in description, (path, method)


# --- a generated client against a live server -------------------------------------------------


def _generator() -> Path | None:
    beside_python = Path(sys.executable).parent / "openapi-python-client"
    if beside_python.exists():
        return beside_python
    found = shutil.which("openapi-python-client")
    return Path(found) if found else None


@pytest.fixture
def generated_client(live_server, tmp_path):
    """Generates ``partner_api_client`` from the schema the live server serves and imports it."""
    generator = _generator()
    if generator is None:
        reason = "openapi-python-client is not installed (pip install -e '.[dev]')"
        print(reason)
        pytest.skip(reason)
    schema_file = tmp_path / "schema.json"
    with urlopen(f"{live_server.url}/api/v1/schema/?format=json") as response:
        schema_file.write_bytes(response.read())
    # The generator formats its output with ruff, found on PATH beside it.
    env = {"PATH": f"{generator.parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    package = "partner_api_client"
    result = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(schema_file),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / package),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == package]:
            del sys.modules[name]


def test_a_generated_client_round_trips_a_case_a_batch_and_the_exceptions(
    personas, live_server, generated_client
):
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "C-N1")
        overdue_case(version, personas.north, "C-N2")
        exception_report_compute(organization=personas.org, date=DAY)
    key = partner_client(personas.org, [personas.north])._credentials["HTTP_AUTHORIZATION"]
    api = importlib.import_module(f"{generated_client.__name__}.api")
    models = importlib.import_module(f"{generated_client.__name__}.models")
    case_get = importlib.import_module(f"{api.__name__}.cases.case_get")
    case_put = importlib.import_module(f"{api.__name__}.cases.case_put")
    events_post = importlib.import_module(f"{api.__name__}.events.events_post")
    exceptions_list = importlib.import_module(f"{api.__name__}.exceptions.exceptions_list")
    client = generated_client.AuthenticatedClient(
        base_url=live_server.url,
        token=key.removeprefix("Bearer "),
        raise_on_unexpected_status=True,
    )

    body = models.CaseIn.from_dict(
        {
            "site": "north",
            "pathway": "h2h",
            "referral_at": "2026-03-01T09:30:00+00:00",
            "risk_tier": "high",
            "attributes": {"language_need": True, "housing": "unstable"},
        }
    )
    created = case_put.sync_detailed("C-9", client=client, body=body)
    assert created.status_code == 201
    assert isinstance(created.parsed, models.CaseOut)
    read = case_get.sync("C-9", client=client)
    assert (read.external_ref, read.site, read.pathway) == ("C-9", "north", "h2h")
    assert read.risk_tier == models.RiskTierEnum.HIGH
    assert read.attributes.to_dict() == {"language_need": True, "housing": "unstable"}

    events = [
        models.EventIn.from_dict(
            {
                "id": f"gen-{n}",
                "case": "C-9",
                "type": "step_completed" if n == 1 else "contact_made",
                **({"step": "intake"} if n == 1 else {}),
                "occurred_at": f"2026-03-0{n + 1}T10:00:00+00:00",
                "data": {"complete": True},
            }
        )
        for n in (1, 2)
    ]
    result = events_post.sync(client=client, body=events)
    assert isinstance(result, models.IngestResult)
    assert (result.created, result.duplicates) == (2, 0)
    replayed = events_post.sync(client=client, body=events[0])
    assert [item.status.value for item in replayed.results] == ["duplicate"]
    refused = events_post.sync_detailed(
        client=client,
        body=[
            models.EventIn.from_dict(
                {**events[1].to_dict(), "occurred_at": "0206-11-02T10:00:00+00:00", "id": "gen-3"}
            )
        ],
    )
    assert refused.status_code == 400
    assert [(e.index, e.field) for e in refused.parsed.errors] == [(0, "occurred_at")]

    first = exceptions_list.sync(client=client, date=DAY, page_size=1)
    assert isinstance(first, models.ExceptionPage)
    assert len(first.results) == 1 and first.next_
    cursor = parse_qs(urlparse(first.next_).query)["cursor"][0]
    second = exceptions_list.sync(client=client, date=DAY, page_size=1, cursor=cursor)
    cases = {first.results[0].case, second.results[0].case}
    assert cases == {"C-N1", "C-N2"}
    assert first.results[0].kind == models.KindEnum.OVERDUE_STEP
