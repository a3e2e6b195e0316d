"""What the partner API refuses at its edge (../shared/API.md, "Case events", last paragraph):
datetimes outside the plausible window or with an offset PostgreSQL cannot store, and bodies it
cannot read. Each answer is a 400/404/413 in the ``{"errors": [...]}`` shape and nothing is stored."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from pathways.models import Case, CaseEvent
from pathways.plausible_time import CLOCK_SKEW, EARLIEST_PLAUSIBLE
from tests.pathways.api_helpers import case_payload, event_payload, partner_client
from tests.pathways.exception_helpers import build_version

MB = 1024 * 1024


@pytest.fixture
def north_key(personas, tenant):
    build_version()
    return partner_client(personas.org, [personas.north])


@pytest.fixture
def case(north_key):
    response = north_key.put("/api/v1/cases/C-1/", case_payload(), format="json")
    assert response.status_code == 201, response.json()


def stored_rows() -> tuple[list, list]:
    return (
        list(Case.dangerously_unscoped.order_by("pk").values_list("external_ref", "referral_at")),
        list(CaseEvent.dangerously_unscoped.order_by("pk").values_list("event_id", "occurred_at")),
    )


def post_raw(client, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", "/api/v1/events/", body, content_type=content_type)


def only_error(response) -> dict:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]


# --- the plausible-time window --------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0206-11-02T10:00:00+00:00",  # a year typo: pandas cannot hold it
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "1899-12-31T23:59:59+00:00",
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
    ],
)
def test_an_event_outside_the_window_is_a_400_naming_occurred_at(case, north_key, occurred_at):
    before = stored_rows()
    response = north_key.post(
        "/api/v1/events/", [event_payload(occurred_at=occurred_at)], format="json"
    )
    assert response.status_code == 400
    error = only_error(response)
    assert (error["index"], error["field"]) == (0, "occurred_at")
    assert "1900-01-01" in error["message"]
    assert stored_rows() == before


@pytest.mark.parametrize("offset", ["+23:59", "-16:00", "+16:00"])
def test_an_offset_postgresql_cannot_store_is_a_400(case, north_key, offset):
    before = stored_rows()
    response = north_key.post(
        "/api/v1/events/", event_payload(occurred_at=f"2026-03-02T10:00:00{offset}"), format="json"
    )
    assert response.status_code == 400
    error = only_error(response)
    assert error["field"] == "occurred_at" and "15:59" in error["message"]
    assert stored_rows() == before


def test_the_window_edges_are_inclusive(case, north_key):
    earliest = EARLIEST_PLAUSIBLE.isoformat()
    widest_offsets = "1900-01-01T15:59:00+15:59"  # the same instant as the earliest
    latest = (timezone.now() + CLOCK_SKEW - timedelta(seconds=5)).isoformat()
    batch = [
        event_payload(1, type="contact_made", step=None, occurred_at=earliest),
        event_payload(2, type="contact_made", step=None, occurred_at=widest_offsets),
        event_payload(3, type="contact_made", step=None, occurred_at=latest),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 3


def test_a_second_before_the_window_is_refused(case, north_key):
    response = north_key.post(
        "/api/v1/events/", event_payload(occurred_at="1900-01-01T15:59:59+16:00"), format="json"
    )
    assert response.status_code == 400


def test_a_case_referred_outside_the_window_is_a_400_and_nothing_is_stored(north_key):
    response = north_key.put(
        "/api/v1/cases/C-9/",
        case_payload(referral_at="0001-01-01T00:00:00+14:00"),
        format="json",
    )
    assert response.status_code == 400
    assert only_error(response)["field"] == "referral_at"
    assert not Case.dangerously_unscoped.exists()


def test_a_case_update_outside_the_window_keeps_the_stored_referral(case, north_key):
    before = stored_rows()
    for referral_at in ("0206-11-02T10:00:00+00:00", "2026-03-01T09:30:00+23:59"):
        response = north_key.put(
            "/api/v1/cases/C-1/", case_payload(referral_at=referral_at), format="json"
        )
        assert response.status_code == 400
        assert only_error(response)["field"] == "referral_at"
    assert stored_rows() == before
    assert north_key.get("/api/v1/cases/C-1/").status_code == 200


def test_a_case_referred_in_the_future_is_refused(north_key):
    future = (timezone.now() + CLOCK_SKEW + timedelta(minutes=1)).isoformat()
    response = north_key.put("/api/v1/cases/C-9/", case_payload(referral_at=future), format="json")
    assert response.status_code == 400
    assert only_error(response)["field"] == "referral_at"


def test_overlong_strings_are_refused_by_length_and_not_echoed_back(case, north_key):
    huge = "x" * 200_000
    batch = [
        event_payload(1, case=huge),
        event_payload(2, step=huge),
        event_payload(3, occurred_at=huge),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(error["index"], error["field"]) for error in errors] == [
        (0, "case"),
        (1, "step"),
        (2, "occurred_at"),
    ]
    assert "1 to 100 characters" in errors[0]["message"]
    assert "at most 80 characters" in errors[1]["message"]
    assert len(response.content) < 2000
    response = north_key.put("/api/v1/cases/C-9/", case_payload(site=huge), format="json")
    assert only_error(response)["field"] == "site"
    assert len(response.content) < 1000


# --- bodies the API cannot read ---------------------------------------------------------------


def test_json_nested_a_thousand_deep_is_a_400(case, north_key):
    before = stored_rows()
    nested = "[" * 1000 + "]" * 1000
    body = f'{{"id": "e1", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", "data": {{"x": {nested}}}}}'
    response = post_raw(north_key, body)
    assert response.status_code == 400
    assert "nested" in only_error(response)["message"]
    assert stored_rows() == before


def test_json_nested_just_past_the_limit_is_a_400_and_at_the_limit_is_stored(case, north_key):
    from scaling_ops.api_parsers import MAX_JSON_DEPTH

    def body(depth: int) -> str:
        # The event object is level 1, its data level 2; the innermost list sits at ``depth``.
        inner = "[" * (depth - 2) + "]" * (depth - 2)
        return f'{{"id": "e{depth}", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", "data": {{"x": {inner}}}}}'

    assert post_raw(north_key, body(MAX_JSON_DEPTH + 1)).status_code == 400
    assert post_raw(north_key, body(MAX_JSON_DEPTH)).status_code == 201


@pytest.mark.parametrize(
    "where",
    [
        '"data": {"note": "\\ud800"}',
        '"data": {"\\udfff": 1}',
        '"data": {"note": "ok \\uDBFF"}',
        '"step": "in\\ud800take", "type": "step_completed"',
    ],
)
def test_a_lone_surrogate_is_a_400_naming_where_it_is(case, north_key, where):
    before = stored_rows()
    body = f'[{{"id": "e1", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", {where}}}]'
    response = post_raw(north_key, body)
    assert response.status_code == 400
    error = only_error(response)
    assert error["field"].startswith("[0].")
    assert "surrogate" in error["message"]
    assert stored_rows() == before


def test_a_backslash_before_u0000_is_text_and_stored(case, north_key):
    """The parser looks for a NUL or surrogate escape in the body before the data is walked:
    an escaped backslash followed by ``u0000`` is six plain characters, and stored."""
    body = '{"id": "e1", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", "data": {"note": "C:\\\\u0000"}}'
    assert post_raw(north_key, body).status_code == 201
    stored = CaseEvent.dangerously_unscoped.get(event_id="e1")
    assert stored.data == {"note": "C:\\u0000"}


def test_a_body_without_an_escape_of_nul_or_a_surrogate_is_not_walked_for_them(
    case, north_key, monkeypatch
):
    """The walk of a parsed batch for NUL and surrogates is skipped when the parser saw no
    escape that could write one (it used to run on every batch: the note was read before the
    body was parsed); with such an escape it still runs and refuses."""
    from pathways import api

    walked = []
    walk = api._first_unstorable

    def spy(value, path):
        walked.append(value)
        return walk(value, path)

    monkeypatch.setattr(api, "_first_unstorable", spy)
    plain = [event_payload(n) for n in range(3)]
    assert north_key.post("/api/v1/events/", plain, format="json").status_code == 201
    assert plain not in walked
    escaped = '[{"id": "e9", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", "data": {"note": "a\\u0000b"}}]'
    response = post_raw(north_key, escaped)
    assert response.status_code == 400
    assert only_error(response)["field"] == "[0].data.note"
    assert json.loads(escaped) in walked


def test_a_lone_surrogate_in_a_case_is_a_400(north_key):
    body = json.dumps(case_payload(site="\ud800north"))
    response = north_key.generic("PUT", "/api/v1/cases/C-9/", body, content_type="application/json")
    assert response.status_code == 400
    assert only_error(response)["field"] == "site"
    assert not Case.dangerously_unscoped.exists()


@pytest.mark.parametrize("number", ["1e400", "-1e999"])
def test_a_number_too_large_for_a_float_is_a_400(case, north_key, number):
    body = f'{{"id": "e1", "case": "C-1", "type": "contact_made", "occurred_at": "2026-03-02T10:00:00+00:00", "data": {{"score": {number}}}}}'
    response = post_raw(north_key, body)
    assert response.status_code == 400
    assert "number" in only_error(response)["message"]
    assert not CaseEvent.dangerously_unscoped.exists()


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("multipart/form-data; boundary=BoUnDaRy", None),
        ("application/x-www-form-urlencoded", "id=e1&case=C-1&type=contact_made"),
        ("text/plain", json.dumps(event_payload())),
        ("", json.dumps(event_payload())),
    ],
)
def test_a_body_that_is_not_json_is_a_400_naming_the_fix(case, north_key, content_type, body):
    if body is None:
        body = (
            "--BoUnDaRy\r\n"
            'Content-Disposition: form-data; name="id"\r\n\r\ne1\r\n'
            "--BoUnDaRy\r\n"
            'Content-Disposition: form-data; name="case"\r\n\r\nC-1\r\n'
            "--BoUnDaRy--\r\n"
        )
    response = post_raw(north_key, body, content_type=content_type)
    assert response.status_code == 400
    assert "application/json" in only_error(response)["message"]
    assert not CaseEvent.dangerously_unscoped.exists()


def test_malformed_json_is_a_400_in_the_error_shape(case, north_key):
    response = post_raw(north_key, '[{"id": "e1",')
    assert response.status_code == 400
    assert "JSON" in only_error(response)["message"]


def realistic_batch(size: int, note_length: int) -> list[dict]:
    """Events as a partner's EHR sends them: a clinical-system note and a few coded fields."""
    note = ("Home visit; medication reviewed with carer. " * 200)[:note_length]
    return [
        event_payload(
            n,
            type="contact_made",
            step=None,
            occurred_at=f"2026-03-02T{n % 24:02d}:{n % 60:02d}:00+00:00",
            data={"note": note, "channel": "home_visit", "by": f"practitioner-{n % 17}"},
        )
        for n in range(size)
    ]


def test_a_full_batch_over_the_old_2_5_mb_limit_is_stored(case, north_key):
    body = json.dumps(realistic_batch(1000, 2900))
    assert 5 * MB // 2 < len(body.encode()) < 8 * MB
    response = post_raw(north_key, body)
    assert response.status_code == 201, response.content[:300]
    assert response.json()["created"] == 1000


def test_a_body_over_8_mb_is_a_413_in_the_error_shape(case, north_key):
    body = json.dumps(realistic_batch(1000, 8500))
    assert len(body.encode()) > 8 * MB
    response = post_raw(north_key, body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "8 MB" in only_error(response)["message"]
    assert not CaseEvent.dangerously_unscoped.exists()


@pytest.mark.parametrize(
    "path", ["/api/v1/nope/", "/api/v1/events", "/api/v1/cases/C-1/extra/", "/api/v1/"]
)
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_an_unknown_api_path_is_a_json_404(north_key, path, method):
    response = getattr(north_key, method)(path, {}, format="json")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert only_error(response)["message"]


def test_a_path_missing_its_slash_is_told_the_fix(north_key):
    response = north_key.post("/api/v1/events", event_payload(), format="json")
    assert "/api/v1/events/" in only_error(response)["message"]


def test_an_unknown_api_path_still_needs_a_key(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/nope/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_an_outsiders_key_gets_the_same_json_404(personas, north_key):
    outsider = partner_client(personas.other_org, [personas.other_site], name="globex")
    assert outsider.get("/api/v1/nope/").json() == north_key.get("/api/v1/nope/").json()
