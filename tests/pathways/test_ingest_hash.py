"""The content hash stays the canonical JSON it has always been: hashes stored by earlier
ingests and the seeder's bulk load must keep matching a replay of the same event."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pathways.services.ingest_hash import event_content_hash


def test_the_hash_is_sha256_of_the_sorted_compact_json_of_the_event():
    occurred_at = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    data = {"score": 3, "complete": True, "note": "née — ok", "nested": {"b": [1, 2], "a": None}}
    expected = hashlib.sha256(
        json.dumps(
            {
                "case": "C-1",
                "type": "step_completed",
                "step": "intake",
                "occurred_at": occurred_at.astimezone(UTC).isoformat(),
                "data": data,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    assert (
        event_content_hash(
            case="C-1", type="step_completed", step="intake", occurred_at=occurred_at, data=data
        )
        == expected
    )
    # No step and no data hash as an empty step and an empty object.
    assert event_content_hash(
        case="C-1", type="contact_missed", step=None, occurred_at=occurred_at, data=None
    ) == event_content_hash(
        case="C-1", type="contact_missed", step="", occurred_at=occurred_at, data={}
    )


def _reference_hash(*, case, type, step, occurred_at, data) -> str:
    """The canonical JSON as ``json.dumps`` writes it from a dict, the form every stored hash
    was made from."""
    canonical = json.dumps(
        {
            "case": case,
            "type": type,
            "step": step or "",
            "occurred_at": occurred_at.astimezone(UTC).isoformat(),
            "data": data or {},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize(
    "event",
    [
        {"case": 'C "quoted"', "type": "contact_made", "step": None, "data": None},
        {"case": "é-1", "type": "step_completed", "step": "in\ttake\\", "data": {}},
        {"case": "C-😀", "type": "step_completed", "step": "x", "data": {"z": 1.5, "a": [None]}},
        {"case": "C-1", "type": "outcome_recorded", "step": "", "data": {"outcome": "ŷ\n"}},
    ],
)
def test_the_hash_written_out_in_key_order_is_the_dicts_canonical_json(event):
    occurred_at = datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert event_content_hash(occurred_at=occurred_at, **event) == _reference_hash(
        occurred_at=occurred_at, **event
    )
