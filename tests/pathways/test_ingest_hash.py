"""The content hash stays the canonical JSON it has always been: hashes stored by earlier
ingests and the seeder's bulk load must keep matching a replay of the same event."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

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
