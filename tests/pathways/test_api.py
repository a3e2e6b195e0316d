"""The partner API as ../shared/API.md defines it: cases, events, exceptions."""

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from pathways.models import Case, CaseEvent
from pathways.services.exceptions import exception_report_compute
from pathways.services.ingest_hash import event_content_hash
from scaling_ops import tenancy
from tests.pathways.api_helpers import case_payload, event_payload, partner_client
from tests.pathways.exception_helpers import DAY, at, build_version, make_case, overdue_case


@pytest.fixture
def version(tenant):
    return build_version()


@pytest.fixture
def north_key(personas, version):
    return partner_client(personas.org, [personas.north])


@pytest.fixture
def case(personas, north_key):
    response = north_key.put("/api/v1/cases/C-1/", case_payload(), format="json")
    assert response.status_code == 201, response.json()
    return response


def stored_events() -> list[tuple]:
    return list(
        CaseEvent.dangerously_unscoped.order_by("event_id").values_list(
            "event_id", "type", "step_key", "occurred_at", "data"
        )
    )


# --- cases -----------------------------------------------------------------------------------


def test_put_creates_a_case_pinned_to_the_active_version(case, version):
    body = case.json()
    assert body["external_ref"] == "C-1"
    assert body["site"] == "north"
    assert body["pathway"] == "h2h" and body["pathway_version"] == version.number
    assert body["attributes"] == {"language_need": True, "rurality": "rural", "housing": "unstable"}
    stored = Case.dangerously_unscoped.get(external_ref="C-1")
    assert stored.version_id == version.pk and stored.risk_tier == "high"


def test_put_again_updates_and_answers_200(case, north_key):
    response = north_key.put("/api/v1/cases/C-1/", case_payload(risk_tier="low"), format="json")
    assert response.status_code == 200
    assert response.json()["risk_tier"] == "low"
    assert Case.dangerously_unscoped.filter(external_ref="C-1").count() == 1


def test_get_returns_the_case(case, north_key):
    response = north_key.get("/api/v1/cases/C-1/")
    assert response.status_code == 200
    assert response.json()["referral_at"] == "2026-03-01T09:30:00+00:00"


def test_put_names_each_bad_field(north_key):
    response = north_key.put(
        "/api/v1/cases/C-2/",
        case_payload(
            risk_tier="severe", referral_at="2026-03-01T09:30:00", attributes={"housing": "tent"}
        ),
        format="json",
    )
    assert response.status_code == 400
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert set(fields) == {"risk_tier", "referral_at", "attributes.housing"}
    assert "offset" in fields["referral_at"]
    assert not Case.dangerously_unscoped.exists()


def test_put_at_a_site_outside_the_key_is_403(personas, north_key):
    response = north_key.put("/api/v1/cases/C-3/", case_payload(site="south"), format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "site"
    assert not Case.dangerously_unscoped.exists()


def test_a_case_cannot_move_to_another_pathway(case, north_key, personas):
    with tenancy.scope(personas.org):
        build_version(slug="bh")
    response = north_key.put("/api/v1/cases/C-1/", case_payload(pathway="bh"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "pathway"


def test_a_case_at_a_site_outside_the_key_reads_as_missing(personas, version, case):
    south_key = partner_client(personas.org, [personas.south], name="south")
    assert south_key.get("/api/v1/cases/C-1/").status_code == 404


# --- events ----------------------------------------------------------------------------------


def test_a_single_event_is_created(case, north_key):
    response = north_key.post("/api/v1/events/", event_payload(), format="json")
    assert response.status_code == 201
    assert response.json() == {
        "created": 1,
        "duplicates": 0,
        "results": [{"id": "evt-1", "status": "created"}],
    }
    assert CaseEvent.dangerously_unscoped.get(event_id="evt-1").step_key == "intake"


def test_a_stored_event_keeps_what_was_sent(case, north_key):
    sent = event_payload(
        occurred_at="2026-03-02T11:30:00.250000+01:30",
        data={"complete": True, "note": "Überweisung ✓", "scores": [1, 2.5, None], "by": {"a": 1}},
    )
    assert north_key.post("/api/v1/events/", sent, format="json").status_code == 201
    stored = CaseEvent.dangerously_unscoped.select_related("case").get(event_id="evt-1")
    assert (stored.case.external_ref, stored.type, stored.step_key) == (
        "C-1",
        "step_completed",
        "intake",
    )
    assert stored.occurred_at == datetime(2026, 3, 2, 10, 0, 0, 250000, tzinfo=UTC)
    assert stored.data == sent["data"]
    again = north_key.post("/api/v1/events/", sent, format="json")
    assert again.json()["results"] == [{"id": "evt-1", "status": "duplicate"}]


@pytest.mark.parametrize(
    "occurred_at",
    [
        "2026-03-02T10:00:00+00:00",
        "2026-03-02T10:00:00.123456+00:00",
        "2026-03-02T10:00:00.000000+00:00",
        "2026-03-02T10:00:00.5+00:00",
        "2026-03-02T10:00:00Z",
        "2026-03-02T10:00:00-00:00",
        "2026-03-02T11:00:00.123456+01:00",
        "2026-03-02 10:00:00+00:00",
        "2026-03-02T10:00:00,123456+00:00",
        "2026-03-02T10:00+00:00",
        "20260302T100000+0000",
    ],
)
def test_the_stored_hash_covers_the_time_in_utc_however_it_was_written(
    case, north_key, occurred_at
):
    # A time already written as isoformat writes UTC is hashed as sent; any other form is
    # converted first. Either way the hash is the one the seeder's bulk load makes.
    response = north_key.post(
        "/api/v1/events/", event_payload(1, occurred_at=occurred_at), format="json"
    )
    assert response.status_code == 201, response.json()
    assert CaseEvent.dangerously_unscoped.get().content_hash == event_content_hash(
        case="C-1",
        type="step_completed",
        step="intake",
        occurred_at=parse_datetime(occurred_at),
        data={"complete": True},
    )


def test_replaying_a_batch_is_a_no_op_reported_as_duplicates(case, north_key):
    batch = [event_payload(n, occurred_at=f"2026-03-0{n + 1}T10:00:00+00:00") for n in (1, 2, 3)]
    first = north_key.post("/api/v1/events/", batch, format="json")
    assert first.json()["created"] == 3
    before = stored_events()
    for _ in range(3):
        again = north_key.post("/api/v1/events/", batch, format="json")
        assert again.status_code == 201
        assert again.json()["created"] == 0 and again.json()["duplicates"] == 3
    assert stored_events() == before


def test_the_same_id_with_different_content_is_409_and_stores_nothing(case, north_key):
    north_key.post("/api/v1/events/", event_payload(1), format="json")
    response = north_key.post(
        "/api/v1/events/",
        [event_payload(2), event_payload(1, step="intake", data={"complete": False})],
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["errors"] == [
        {"index": 1, "field": "id", "message": response.json()["errors"][0]["message"]}
    ]
    assert not CaseEvent.dangerously_unscoped.filter(event_id="evt-2").exists()


def test_a_batch_mixing_replays_and_new_events_reports_each_in_order(case, north_key):
    north_key.post("/api/v1/events/", [event_payload(2), event_payload(4)], format="json")
    response = north_key.post(
        "/api/v1/events/", [event_payload(n) for n in (1, 2, 3, 4)], format="json"
    )
    assert response.status_code == 201
    assert response.json() == {
        "created": 2,
        "duplicates": 2,
        "results": [
            {"id": "evt-1", "status": "created"},
            {"id": "evt-2", "status": "duplicate"},
            {"id": "evt-3", "status": "created"},
            {"id": "evt-4", "status": "duplicate"},
        ],
    }
    assert CaseEvent.dangerously_unscoped.count() == 4


def test_an_id_repeated_in_one_batch_is_a_duplicate_if_the_content_is_the_same(case, north_key):
    response = north_key.post(
        "/api/v1/events/", [event_payload(1), event_payload(1)], format="json"
    )
    assert response.status_code == 201
    assert [result["status"] for result in response.json()["results"]] == ["created", "duplicate"]
    assert CaseEvent.dangerously_unscoped.count() == 1


def test_an_id_reused_within_one_batch_for_different_content_is_409_and_stores_nothing(
    case, north_key
):
    batch = [
        event_payload(1),
        event_payload(2),
        event_payload(1, data={"complete": False}),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 409
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [(2, "id")]
    assert not CaseEvent.dangerously_unscoped.exists()


def test_every_conflicting_id_is_named_whether_stored_before_or_repeated_in_the_batch(
    case, north_key
):
    north_key.post("/api/v1/events/", event_payload(1), format="json")
    batch = [
        event_payload(2),
        event_payload(1, data={"complete": False}),
        event_payload(2, data={"complete": False}),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 409
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [
        (1, "id"),
        (2, "id"),
    ]
    assert "different content" in response.json()["errors"][0]["message"]
    assert list(CaseEvent.dangerously_unscoped.values_list("event_id", flat=True)) == ["evt-1"]


def test_a_batch_with_one_bad_item_stores_nothing_and_indexes_each_error(case, north_key):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    batch = [
        event_payload(1),
        event_payload(2, occurred_at="2026-03-02T10:00:00"),
        event_payload(3, step="no-such-step"),
        event_payload(4, case="C-unknown"),
        event_payload(5, occurred_at=future),
        event_payload(6, type="risk_tier_changed", step=None, data={"risk_tier": "extreme"}),
        event_payload(7, type="outcome_recorded", step=None, data={}),
        event_payload(8, type="step_completed", step=None),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    errors = [(error["index"], error["field"]) for error in response.json()["errors"]]
    assert errors == [
        (1, "occurred_at"),
        (2, "step"),
        (3, "case"),
        (4, "occurred_at"),
        (5, "data.risk_tier"),
        (6, "data.outcome"),
        (7, "step"),
    ]
    assert not CaseEvent.dangerously_unscoped.exists()


def test_invalid_items_after_rows_already_sent_to_the_copy_store_nothing_and_are_all_named(
    case, north_key
):
    # Items are checked in event-id order while the valid ones stream into the insert: these
    # two have the batch's last ids, checked after some 300 rows have gone to the server.
    batch = [
        event_payload(9999, case="C-unknown"),
        *(
            event_payload(n, occurred_at=f"2026-03-02T{n % 24:02d}:{n % 60:02d}:00+00:00")
            for n in range(100, 400)
        ),
        event_payload(999, step="no-such-step"),
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    errors = [(error["index"], error["field"]) for error in response.json()["errors"]]
    assert errors == [(0, "case"), (301, "step")]
    assert not CaseEvent.dangerously_unscoped.exists()


def test_events_for_a_case_at_a_site_outside_the_key_are_item_errors(personas, version, case):
    south_key = partner_client(personas.org, [personas.south], name="south")
    response = south_key.post("/api/v1/events/", event_payload(), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "case"


def test_a_case_ref_of_another_organisation_is_an_unknown_case(personas, north_key, case):
    with tenancy.scope(personas.other_org):
        make_case(build_version(), personas.other_site, "C-OTHER", at(DAY, 9))
    response = north_key.post("/api/v1/events/", event_payload(case="C-OTHER"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "case"
    assert "Unknown case" in response.json()["errors"][0]["message"]
    assert not CaseEvent.dangerously_unscoped.exists()


def test_cases_are_found_by_references_that_json_and_sql_quote(personas, north_key):
    """The batch's references reach PostgreSQL as one JSON array (SQLite: an IN list): quotes,
    backslashes, percent signs and non-ASCII letters find their case; an unknown one does not."""
    refs = ['C"quoted"', "C\\back\\slash", "C'apostrophe", "C%20percent", "Cé ü 北", "C-1"]
    for ref in refs:
        response = north_key.put(
            f"/api/v1/cases/{quote(ref, safe='')}/", case_payload(), format="json"
        )
        assert response.status_code == 201, response.json()
    batch = [event_payload(n, case=ref) for n, ref in enumerate(refs)]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == len(refs)
    with tenancy.scope(personas.org):
        stored = dict(CaseEvent.objects.values_list("event_id", "case__external_ref"))
    assert stored == {f"evt-{n}": ref for n, ref in enumerate(refs)}
    response = north_key.post(
        "/api/v1/events/", [*batch, event_payload(99, case='C"unknown"')], format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "index": len(refs),
            "field": "case",
            "message": "Unknown case 'C\"unknown\"'; create it first with PUT "
            '/api/v1/cases/C"unknown"/.',
        }
    ]


def test_ids_data_and_steps_holding_copys_separators_are_stored_and_replayed_as_sent(
    case, north_key
):
    """PostgreSQL takes new events by COPY, whose text format ends rows and columns at newlines
    and tabs and reads backslash escapes: a partner's values holding them are stored as sent,
    and sent again are duplicates (the same content hash)."""
    awkward = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\.", "\\N", "é\\t"]
    batch = [
        event_payload(n, id=value, data={"complete": True, "note": value, value: [value]})
        for n, value in enumerate(awkward)
    ]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == len(awkward)
    stored = {event_id: data for event_id, _, _, _, data in stored_events()}
    assert stored == {value: {"complete": True, "note": value, value: [value]} for value in awkward}
    again = north_key.post("/api/v1/events/", batch, format="json")
    assert again.status_code == 201, again.json()
    assert (again.json()["created"], again.json()["duplicates"]) == (0, len(awkward))


def test_more_than_1000_events_are_refused_whole(case, north_key):
    batch = [event_payload(n) for n in range(1001)]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400
    assert "at most 1000" in response.json()["errors"][0]["message"]


def test_a_full_batch_is_ingested_in_a_fixed_number_of_queries(
    case, north_key, django_assert_max_num_queries
):
    batch = [
        event_payload(n, occurred_at=f"2026-03-02T{n % 24:02d}:{n % 60:02d}:00+00:00")
        for n in range(1000)
    ]
    # Key lookup and its sites, perhaps the last-used stamp, cases, steps, the batch's savepoint
    # and its release, and inside it: on PostgreSQL the read of stored ids and the COPY (not a
    # query Django counts); on SQLite the one insert, with no read of stored ids when every
    # event is new.
    with django_assert_max_num_queries(7):
        response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.json()["created"] == 1000


def test_a_batch_with_replays_takes_as_many_queries_at_10_items_as_at_1000(
    case, north_key, django_assert_num_queries
):
    """The realistic mix of the bench (new events of several types, one in ten a replay of the
    batch before): the replays are read back in one query whatever their number."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def batch(first: int, size: int) -> list[dict]:
        kinds = [
            {"type": "step_completed", "step": "intake", "data": {"complete": True}},
            {"type": "contact_missed"},
            {"type": "risk_tier_changed", "data": {"risk_tier": "high"}},
        ]
        fresh = size - size // 10
        return [
            event_payload(
                n, occurred_at=f"2026-03-02T{n % 24:02d}:{n % 60:02d}:00+00:00", **kinds[n % 3]
            )
            for n in range(first, first + fresh)
        ]

    def post(items):
        response = north_key.post("/api/v1/events/", items, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    small, large = batch(0, 10), batch(100, 1000)
    post(small[:1] + large[:100])
    with CaptureQueriesContext(connection) as queries:
        answer = post(small[1:] + small[:1])
    assert (answer["created"], answer["duplicates"]) == (8, 1)
    with django_assert_num_queries(len(queries)):
        answer = post(large[100:] + large[:100])
    assert (answer["created"], answer["duplicates"]) == (800, 100)


def test_an_event_batch_runs_with_the_cycle_collector_paused_and_turns_it_back_on(
    case, north_key, monkeypatch
):
    import gc

    from pathways import api

    seen = []
    ingest = api.case_events_ingest

    def spy(**kwargs):
        seen.append(gc.isenabled())
        return ingest(**kwargs)

    monkeypatch.setattr(api, "case_events_ingest", spy)
    assert gc.isenabled()
    assert north_key.post("/api/v1/events/", [event_payload(1)], format="json").status_code == 201
    assert north_key.post("/api/v1/events/", {"id": 7}, format="json").status_code == 400
    assert seen == [False, False]
    assert gc.isenabled()


def test_an_event_batch_leaves_a_collector_paused_by_someone_else_paused(case, north_key):
    import gc

    gc.disable()
    try:
        assert (
            north_key.post("/api/v1/events/", [event_payload(1)], format="json").status_code == 201
        )
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_event_batch_is_answered_and_stored_as_drf_and_json_would_write_them(case, north_key):
    """The answer is written by orjson and the insert's document too: the same bytes as DRF's
    renderer, the same stored values, for ids and data beyond ASCII and JSON's escapes."""
    from rest_framework.renderers import JSONRenderer

    ids = ["évt-1", "evt\u2028line", 'evt "quoted" \\ back', "evt-日本"]
    data = {"complete": True, "note": "café \u2029 \t tab", "n": 12345678901234}
    batch = [event_payload(number, id=event_id, data=data) for number, event_id in enumerate(ids)]
    response = north_key.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 201
    assert response.content == JSONRenderer().render(response.json())
    assert [item["id"] for item in response.json()["results"]] == ids
    stored = {event_id: row_data for event_id, _, _, _, row_data in stored_events()}
    assert stored == dict.fromkeys(ids, data)
    refused = north_key.post("/api/v1/events/", [event_payload(9, type="nope")], format="json")
    assert refused.status_code == 400
    assert refused.content == JSONRenderer().render(refused.json())


def test_every_index_on_events_is_one_the_reads_need(db):
    """Each index costs every stored event an entry: the organisation column has none of its
    own, the unique (organization, event_id) leads with it. The closures' index
    (``case_event_closure``) is partial: only a ``case_closed`` event has an entry in it."""
    from django.db import connection
    from django.db.models import Q

    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, CaseEvent._meta.db_table)
    indexed = sorted(
        tuple(constraint["columns"])
        for constraint in constraints.values()
        if (constraint["index"] or constraint["unique"]) and not constraint["primary_key"]
    )
    assert indexed == [
        ("case_id", "occurred_at"),
        ("case_id", "occurred_at"),  # case_event_closure, closures only
        ("occurred_at",),
        ("organization_id", "event_id"),
        ("received_at",),
    ]
    (closure,) = [index for index in CaseEvent._meta.indexes if index.name == "case_event_closure"]
    assert closure.condition == Q(type="case_closed")


# --- exceptions ------------------------------------------------------------------------------


@pytest.fixture
def report(personas, version):
    with tenancy.scope(personas.org):
        overdue_case(version, personas.north, "C-N1")
        overdue_case(version, personas.north, "C-N2")
        overdue_case(version, personas.south, "C-S1")
        return exception_report_compute(organization=personas.org, date=DAY)


def test_exceptions_lists_the_report_for_the_keys_sites(report, north_key):
    response = north_key.get(f"/api/v1/exceptions/?date={DAY}")
    assert response.status_code == 200
    items = response.json()["results"]
    assert {item["case"] for item in items} == {"C-N1", "C-N2"}
    assert items[0] == {
        "case": items[0]["case"],
        "site": "north",
        "step": "intake",
        "kind": "overdue_step",
        "due_at": items[0]["due_at"],
        "completed_at": None,
        "status": "open",
    }


def test_exceptions_are_cursor_paginated(report, north_key):
    first = north_key.get(f"/api/v1/exceptions/?date={DAY}&page_size=1").json()
    assert len(first["results"]) == 1 and first["next"]
    second = north_key.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert first["results"][0]["case"] != second["results"][0]["case"]


@pytest.mark.parametrize("position", ["abc", "1e3", "\u00b2", "9" * 40, "-1"])
def test_a_crafted_cursor_whose_position_is_no_line_id_is_an_invalid_cursor(
    report, north_key, position
):
    from base64 import b64encode
    from urllib.parse import urlencode

    cursor = b64encode(urlencode({"p": position}).encode()).decode()
    response = north_key.get(f"/api/v1/exceptions/?date={DAY}&cursor={cursor}")
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Invalid cursor"


def test_exceptions_filter_by_kind_and_status(report, north_key):
    assert north_key.get("/api/v1/exceptions/?kind=late_step").json()["results"] == []
    assert len(north_key.get("/api/v1/exceptions/?status=open").json()["results"]) == 2


def test_exceptions_refuse_bad_filters_naming_the_field(report, north_key):
    response = north_key.get("/api/v1/exceptions/?date=02-03-2026&kind=odd")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "date"
    assert north_key.get("/api/v1/exceptions/?kind=odd").json()["errors"][0]["field"] == "kind"


def test_exceptions_before_any_report_is_404_and_a_day_with_none_at_the_keys_sites_is_empty(
    personas, version, north_key
):
    response = north_key.get("/api/v1/exceptions/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "No exception report has been computed yet."
    with tenancy.scope(personas.org):
        overdue_case(version, personas.south, "C-S1")
        exception_report_compute(organization=personas.org, date=DAY)
    response = north_key.get("/api/v1/exceptions/")
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}


def test_exceptions_at_a_site_outside_the_key_is_403(report, north_key):
    response = north_key.get("/api/v1/exceptions/?site=south")
    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] == "site"


def test_exceptions_for_a_day_without_a_report_is_404(report, north_key):
    response = north_key.get(f"/api/v1/exceptions/?date={date(2026, 1, 1)}")
    assert response.status_code == 404
    assert "2026-01-01" in response.json()["errors"][0]["message"]


def test_exceptions_list_query_count_does_not_grow_with_rows(
    personas, version, north_key, django_assert_max_num_queries
):
    with tenancy.scope(personas.org):
        for number in range(40):
            overdue_case(version, personas.north, f"C-{number}")
        exception_report_compute(organization=personas.org, date=DAY)
    with django_assert_max_num_queries(6):
        response = north_key.get("/api/v1/exceptions/?page_size=40")
    assert len(response.json()["results"]) == 40


def test_each_partner_key_is_throttled_on_its_own(personas, version, monkeypatch):
    from scaling_ops.authentication import PartnerKeyRateThrottle

    monkeypatch.setattr(PartnerKeyRateThrottle, "THROTTLE_RATES", {"partner_key": "3/minute"})
    busy = partner_client(personas.org, [personas.north], name="busy")
    quiet = partner_client(personas.org, [personas.north], name="quiet")
    answers = [busy.get("/api/v1/cases/C-1/").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]
    refused = busy.get("/api/v1/cases/C-1/")
    assert "throttled" in refused.json()["errors"][0]["message"].lower()
    assert int(refused["Retry-After"]) > 0
    assert quiet.get("/api/v1/cases/C-1/").status_code == 404


def test_nul_characters_are_refused_before_they_reach_the_database(case, north_key):
    response = north_key.post(
        "/api/v1/events/", [event_payload(1, data={"note": "a\x00b"})], format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "[0].data.note", "message": "Remove the NUL character."}
    ]
    response = north_key.get("/api/v1/exceptions/?site=a%00")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "site"
    assert not CaseEvent.dangerously_unscoped.exists()


# Whatever the page and however many reports are kept: the partner key with its sites, and one
# page of lines with their items, cases and sites, the report read in the same query.
API_QUERIES = 2


def _keep_reports(report, count: int) -> None:
    """``count`` earlier daily reports with the same lines as ``report``, as if kept for
    ``count`` days (copied, not computed: the list must not care how many are stored)."""
    from pathways.models import ExceptionReport, ExceptionReportLine

    lines = list(ExceptionReportLine.objects.filter(report=report))
    for days in range(1, count + 1):
        older = ExceptionReport.objects.create(
            date=report.date - timedelta(days=days),
            cutoff=report.cutoff - timedelta(days=days),
            computed_at=report.computed_at,
        )
        for line in lines:
            line.pk = None
            line.report = older
        ExceptionReportLine.objects.bulk_create(lines)


def test_exceptions_list_with_90_reports_kept_pages_the_latest_in_constant_queries(
    personas, version, north_key, django_assert_num_queries
):
    with tenancy.scope(personas.org):
        for number in range(30):
            overdue_case(version, personas.north, f"C-{number:02d}")
        report = exception_report_compute(organization=personas.org, date=DAY)
        first_alone = north_key.get("/api/v1/exceptions/?page_size=10").json()
        _keep_reports(report, 89)
    with django_assert_num_queries(API_QUERIES):
        first = north_key.get("/api/v1/exceptions/?page_size=10").json()
    assert first["results"] == first_alone["results"]
    seen = [item["case"] for item in first["results"]]
    page = first
    while page["next"]:
        with django_assert_num_queries(API_QUERIES):
            page = north_key.get(page["next"]).json()
        seen += [item["case"] for item in page["results"]]
    assert sorted(seen) == [f"C-{number:02d}" for number in range(30)]
    older = north_key.get(f"/api/v1/exceptions/?date={DAY - timedelta(days=45)}&page_size=1000")
    assert len(older.json()["results"]) == 30


def test_exceptions_list_bytes_are_drfs_json_of_the_api_md_shape(report, personas, north_key):
    """The list's JSON is written by orjson (issue 20): the same bytes as DRF's JSONRenderer
    writes for API.md's shape, datetimes as isoformat() with their offset and microseconds."""
    from rest_framework.renderers import JSONRenderer

    from pathways.models import ExceptionReportLine

    lines = ExceptionReportLine.dangerously_unscoped.filter(
        report=report, site=personas.north
    ).order_by("id")
    first = lines.first()
    ExceptionReportLine.dangerously_unscoped.filter(pk=first.pk).update(
        due_at=first.due_at + timedelta(microseconds=125_431),
        completed_at=first.due_at + timedelta(hours=1, microseconds=7),
    )
    response = north_key.get(f"/api/v1/exceptions/?date={DAY}")
    expected = {
        "next": None,
        "previous": None,
        "results": [
            {
                "case": line.item.case.external_ref,
                "site": "north",
                "step": line.step,
                "kind": line.kind,
                "due_at": line.due_at.isoformat() if line.due_at else None,
                "completed_at": line.completed_at.isoformat() if line.completed_at else None,
                "status": line.item.status,
            }
            for line in lines.select_related("item__case")
        ],
    }
    assert ".125431+00:00" in expected["results"][0]["due_at"]
    assert response["Content-Type"] == "application/json"
    assert response.content == JSONRenderer().render(expected)
