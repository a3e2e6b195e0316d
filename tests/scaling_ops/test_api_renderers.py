"""The orjson renderer writes DRF's JSONRenderer's bytes (datetimes as ``isoformat()``)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from scaling_ops.api_renderers import OrjsonRenderer

EVERY_ASCII = "".join(chr(code) for code in range(128))
TEXTS = [EVERY_ASCII, "é ü 漢字 \U0001f600", "line\u2028separator\u2029paragraph", "", '"\\']


def drf_bytes(data, accepted_media_type="application/json") -> bytes:
    return JSONRenderer().render(data, accepted_media_type, {})


@pytest.mark.parametrize("text", TEXTS)
def test_strings_are_written_as_drf_writes_them(text):
    data = {"next": None, "results": [{"case": text, "n": 12, "ok": True}, [text, None, -3]]}
    assert OrjsonRenderer().render(data, "application/json", {}) == drf_bytes(data)


def test_datetimes_are_written_with_their_offset_and_all_their_digits():
    stamps = [
        datetime(2026, 3, 3, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 2, 30, 22, 125_431, tzinfo=UTC),
        datetime(2026, 6, 1, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ]
    rendered = OrjsonRenderer().render({"due_at": stamps}, "application/json", {})
    assert rendered == drf_bytes({"due_at": [stamp.isoformat() for stamp in stamps]})
    assert b'"2026-11-01T02:30:22.125431+00:00"' in rendered


def test_an_indent_asked_for_is_drfs_indent_with_the_same_datetimes():
    data = {"due_at": datetime(2026, 3, 3, 9, 30, 0, 120, tzinfo=UTC), "case": "C-1"}
    media_type = "application/json; indent=4"
    expected = drf_bytes({"due_at": data["due_at"].isoformat(), "case": "C-1"}, media_type)
    assert OrjsonRenderer().render(data, media_type, {}) == expected
    assert b"\n    " in expected


@pytest.mark.parametrize(
    "data",
    [
        {"errors": [{"field": None, "message": gettext_lazy("Not found.")}]},
        {1: "a non-string key"},
        {"big": 2**70},
        {"detail": ErrorDetail("Invalid cursor", code="not_found")},
    ],
)
def test_what_orjson_cannot_write_alike_is_written_by_drf(data):
    assert OrjsonRenderer().render(data, "application/json", {}) == drf_bytes(data)


def test_no_data_is_no_body():
    assert OrjsonRenderer().render(None, "application/json", {}) == b""
