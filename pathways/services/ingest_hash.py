"""The content hash of a partner's event: owned by the ingest (a replay of the same content is
a duplicate, different content under the same event id a conflict). Kept apart from
``ingest``'s validation so that the seeder's bulk load can share it without the partner path
importing the demo generator."""

import hashlib
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as quoted

# One encoder for every event: ``json.dumps`` with these options builds a new encoder per call,
# a fifth of the hash's time in a 1,000-event batch. The output is byte for byte the same.
CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def canonical_json(value) -> str:
    """``value`` as sorted, compact JSON: the form the hash covers. The ingest also stores
    ``data`` from this text, so it is encoded once per event."""
    if isinstance(value, dict) and not value:
        return "{}"  # most events carry no data; skip building an encoder pass for them
    return CANONICAL.encode(value)


def content_hash(*, case: str, type: str, step: str, occurred_utc: str, data_json: str) -> str:
    """The hash of an event already put in canonical form: ``occurred_utc`` the time in UTC as
    ``datetime.isoformat`` writes it, ``data_json`` from ``canonical_json``.

    The canonical object is written out in its sorted key order (case, data, occurred_at,
    step, type), each string quoted by the encoder's own function, instead of building a dict
    for the encoder to sort: the same bytes as ``canonical_json`` of that dict."""
    canonical = (
        f'{{"case":{quoted(case)},"data":{data_json},"occurred_at":{quoted(occurred_utc)},'
        f'"step":{quoted(step)},"type":{quoted(type)}}}'
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_content_hash(
    *, case: str, type: str, step: str | None, occurred_at: datetime, data: dict | None
) -> str:
    """The canonical content of an event, shared with the bulk load so that a replay of a
    seeded event by a partner is recognised as a duplicate."""
    return content_hash(
        case=case,
        type=type,
        step=step or "",
        occurred_utc=occurred_at.astimezone(UTC).isoformat(),
        data_json=canonical_json(data or {}),
    )
