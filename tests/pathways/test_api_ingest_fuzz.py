"""A hostile partner's batches against the real ingest path: real case refs and step keys mixed
with dates at the edges of the plausible window, offsets PostgreSQL cannot store, lone
surrogates, NULs, deep nesting, huge strings and wrong shapes. No answer is a 5xx, every answer is
in the error shape, a batch holding anything outside the contract is refused, and a refused batch
leaves every case and event row as it was.

The schema-driven fuzz (test_api_fuzz.py) mostly names cases and steps that do not exist; this one
builds its batches from the organisation's own data so that they reach the storing code."""

import json
from collections import Counter
from datetime import timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from pathways.models import Case, CaseEvent, EventType
from pathways.plausible_time import CLOCK_SKEW, EARLIEST_PLAUSIBLE
from scaling_ops import tenancy
from scaling_ops.api_parsers import MAX_JSON_DEPTH
from tests.pathways.api_helpers import case_payload, partner_client
from tests.pathways.exception_helpers import build_version

REAL_CASES = ("C-1", "C-2", "C-3")
OUTSIDE_KEY_CASE = "C-SOUTH"
REAL_STEPS = ("intake", "assessment", "follow_up")
HUGE = "x" * 200_000
# Spliced into the body text, where a deeply nested value cannot be built as Python data.
DEEP = "__deep__"


class Drawn:
    """A generated value and why the contract refuses a batch holding it (None: it does not)."""

    def __init__(self, value, reason: str | None):
        self.value, self.reason = value, reason

    def __repr__(self) -> str:
        shown = repr(self.value)
        return f"Drawn({shown[:60]}{'...' if len(shown) > 60 else ''}, {self.reason!r})"


def _offset(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes))


STORABLE_OFFSETS = [_offset(0), _offset(14), _offset(-12), _offset(15, 59), _offset(-15, 59)]


@st.composite
def occurred_at(draw, hostile: bool = True):
    """An instant near an edge of the window, written with some offset; or a known-bad text."""
    now = django_timezone.now()
    edges = {
        "earliest": (EARLIEST_PLAUSIBLE, True),
        "a second before the earliest": (EARLIEST_PLAUSIBLE - timedelta(seconds=1), False),
        "a day after the earliest": (EARLIEST_PLAUSIBLE + timedelta(days=1), True),
        "just inside the latest": (now + CLOCK_SKEW - timedelta(seconds=30), True),
        "just past the latest": (now + CLOCK_SKEW + timedelta(seconds=30), False),
        "an ordinary day": (now - timedelta(days=draw(st.integers(0, 3000))), True),
    }
    kinds = [*edges, "text"] if hostile else [kind for kind, (_, ok) in edges.items() if ok]
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        value, plausible = draw(
            st.sampled_from(
                [
                    ("0206-11-02T10:00:00+00:00", False),
                    ("0001-01-01T00:00:00+14:00", False),
                    ("9999-12-31T23:59:59-14:00", False),
                    ("2026-03-02T10:00:00+23:59", False),
                    ("2026-03-02T10:00:00-16:00", False),
                    ("2026-03-02T10:00:00", False),
                    ("2026-02-30T10:00:00+00:00", False),
                    ("", False),
                    (20260302, False),
                    (None, False),
                ]
            )
        )
        return Drawn(value, None if plausible else "occurred_at")
    instant, plausible = edges[kind]
    offset = draw(st.sampled_from(STORABLE_OFFSETS))
    return Drawn(instant.astimezone(offset).isoformat(), None if plausible else "occurred_at")


SURROGATES = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)


@st.composite
def text(draw, real: tuple[str, ...], hostile: bool = True):
    """A real value, or a string made unusable by a surrogate, a NUL or its sheer size."""
    kinds = ["real", "surrogate", "nul", "huge", "unknown"] if hostile else ["real"]
    kind = draw(st.sampled_from(kinds))
    base = draw(st.sampled_from(real))
    if kind == "surrogate":
        return Drawn(base + draw(SURROGATES), "unstorable")
    if kind == "nul":
        return Drawn(base + "\x00", "unstorable")
    if kind == "huge":
        return Drawn(HUGE, "huge")
    if kind == "unknown":
        return Drawn(base + "-unknown", "unknown")
    return Drawn(base, None)


@st.composite
def data(draw, hostile: bool = True):
    kinds = ["plain", "surrogate key", "huge", "deep", "not finite"]
    kind = draw(st.sampled_from(kinds if hostile else ["plain", "huge", "deep"]))
    if kind == "surrogate key":
        return Drawn({"note" + draw(SURROGATES): 1}, "unstorable")
    if kind == "huge":
        return Drawn({"note": HUGE}, None)
    if kind == "deep":
        depths = (
            [MAX_JSON_DEPTH - 2, MAX_JSON_DEPTH, 1000, 5000] if hostile else [MAX_JSON_DEPTH - 3]
        )
        depth = draw(st.sampled_from(depths))
        # The event is level 1 in a single-event body, 2 in a batch; its data one more.
        return Drawn({"x": DEEP, "depth": depth}, "deep")
    if kind == "not finite":
        return Drawn({"score": float("inf")}, "not finite")
    # What every event type may need, so that well-formed batches of any type get through.
    return Drawn(
        {
            "complete": draw(st.booleans()),
            "home_risk": draw(st.sampled_from(["low", "high"])),
            "risk_tier": "high",
            "outcome": "readmission",
        },
        None,
    )


@st.composite
def event(draw, hostile: bool):
    event_type = draw(
        st.sampled_from([*EventType.values, "teleported"] if hostile else EventType.values)
    )
    cases = (*REAL_CASES, OUTSIDE_KEY_CASE) if hostile else REAL_CASES
    parts = {
        # A small pool of ids: replays and conflicting reuses happen.
        "id": Drawn(f"f-{draw(st.integers(1, 30))}", None),
        "case": draw(text(cases, hostile)),
        "type": Drawn(event_type, None if event_type in EventType.values else "type"),
        "step": draw(text(REAL_STEPS, hostile)),
        "occurred_at": draw(occurred_at(hostile)),
        "data": draw(data(hostile)),
    }
    if hostile and draw(st.booleans()):
        parts["id"] = draw(text(("f-1", "f-2")))
        if parts["id"].reason == "unknown":
            parts["id"].reason = None  # "f-1-unknown" is as good an id as any
    if parts["case"].value == OUTSIDE_KEY_CASE:
        parts["case"].reason = "outside the key"
    return parts


@st.composite
def batch(draw):
    """Half the batches are well formed (edges of the window just inside) and must be stored;
    the others mix good items with hostile ones."""
    hostile = draw(st.booleans())
    events = draw(st.lists(event(hostile), min_size=0 if hostile else 1, max_size=4))
    single = len(events) == 1 and draw(st.booleans())
    return events, single


def body_text(events: list[dict], single: bool) -> str:
    items = [{name: part.value for name, part in parts.items()} for parts in events]
    text = json.dumps(items[0] if single else items)  # ensure_ascii: surrogates as \ud800
    for parts in events:
        depth = parts["data"].value.get("depth") if isinstance(parts["data"].value, dict) else None
        if depth:
            text = text.replace(f'"{DEEP}"', "[" * depth + "]" * depth, 1)
    return text


def must_refuse(events: list[dict], single: bool) -> set[str]:
    """Reasons the contract gives for refusing this batch whole (an empty set: it may pass)."""
    reasons = {part.reason for parts in events for part in parts.values() if part.reason}
    if not events:
        reasons.add("empty")
    for parts in events:
        deep = parts["data"].reason == "deep"
        if deep and parts["data"].value["depth"] + 2 + (0 if single else 1) <= MAX_JSON_DEPTH:
            reasons.discard("deep")
    return reasons


def snapshot() -> tuple[list, list]:
    return (
        list(
            Case.dangerously_unscoped.order_by("pk").values_list(
                "external_ref", "referral_at", "risk_tier", "updated_at"
            )
        ),
        list(
            CaseEvent.dangerously_unscoped.order_by("pk").values_list(
                "event_id", "occurred_at", "content_hash"
            )
        ),
    )


@pytest.fixture
def north_key(personas):
    with tenancy.scope(personas.org):
        build_version()
    key = partner_client(personas.org, [personas.north])
    for ref in REAL_CASES:
        assert key.put(f"/api/v1/cases/{ref}/", case_payload(), format="json").status_code == 201
    south = partner_client(personas.org, [personas.south], name="south")
    response = south.put(
        f"/api/v1/cases/{OUTSIDE_KEY_CASE}/", case_payload(site="south"), format="json"
    )
    assert response.status_code == 201
    return key


FUZZ = settings(max_examples=150, deadline=None, derandomize=True)


def test_no_batch_gets_a_5xx_and_a_refused_batch_changes_nothing(north_key):
    statuses = Counter()

    @FUZZ
    @given(generated=batch())
    def post(generated):
        events, single = generated
        before = snapshot()
        response = north_key.generic(
            "POST", "/api/v1/events/", body_text(events, single), content_type="application/json"
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.content[:500]
        assert response["Content-Type"] == "application/json"
        answer = response.json()
        if response.status_code == 201:
            assert not must_refuse(events, single), (must_refuse(events, single), answer)
            assert answer["created"] + answer["duplicates"] == len(events)
            return
        assert response.status_code in (400, 409), answer
        assert answer["errors"] and all(error["message"] for error in answer["errors"])
        assert snapshot() == before

    post()
    # The batches reached the storing code, replays and reuses included, not only the checks.
    assert statuses[201] >= 10 and statuses[400] >= 10 and statuses[409] >= 1, statuses
    assert CaseEvent.dangerously_unscoped.exists()


def test_no_case_put_gets_a_5xx_and_a_refused_one_changes_nothing(north_key):
    statuses = Counter()

    @FUZZ
    @given(referral_at=occurred_at(), site=text(("north",)))
    def put(referral_at, site):
        before = snapshot()
        body = json.dumps(case_payload(referral_at=referral_at.value, site=site.value))
        response = north_key.generic(
            "PUT", "/api/v1/cases/C-1/", body, content_type="application/json"
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.content[:500]
        if referral_at.reason or site.reason:
            assert response.status_code == 400, response.json()
        if response.status_code == 200:
            stored = Case.dangerously_unscoped.get(external_ref="C-1").referral_at
            assert EARLIEST_PLAUSIBLE <= stored <= django_timezone.now() + CLOCK_SKEW
        else:
            assert snapshot() == before

    put()
    assert statuses[200] >= 10 and statuses[400] >= 10, statuses
