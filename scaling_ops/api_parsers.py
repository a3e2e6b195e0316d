"""The partner API's one request parser: JSON only, and only JSON the rest of the path can hold.

Kept apart from ``api_errors``: DRF imports its parser classes while ``rest_framework.views`` is
still loading, so this module must not import it."""

import codecs
import json
import math
import re

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

# Real partner documents are a few levels deep; a bound keeps every later walk of the data
# (the NUL check, the content hash, the JSON encoder) far from Python's recursion limit.
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep; flatten it."
# A NUL or a lone surrogate can only reach the parsed data through a \u escape (the decoder
# refuses them raw): a body without one needs no walk of its data for them (issue 20: the walk
# of a 1,000-event batch took about 5 ms, of some 30 ms of Python time per batch).
ESCAPE_OF_UNSTORABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
CONTAINERS = (dict, list)


class _Unreadable(ValueError):
    """Raised from inside the JSON decoder for a value it would accept but we cannot keep."""


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise _Unreadable(
            f"The number {text[:40]} does not fit a 64-bit float; send a smaller one."
        )
    return number


def _no_constant(name: str):
    raise _Unreadable(f"{name} is not a JSON number; send null or a finite number.")


class StrictJSONParser(JSONParser):
    """JSON as PostgreSQL's jsonb can hold it: finite numbers, bounded nesting."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            data = json.loads(
                text,
                parse_float=_finite_float,
                parse_constant=_no_constant,
            )
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        except _Unreadable as error:
            raise ParseError(str(error)) from None
        except ValueError as error:
            raise ParseError(f"The body is not valid JSON: {error}.") from None
        _check_depth(data)
        request = (parser_context or {}).get("request")
        if request is not None:
            # Read by the partner API's check for characters it cannot store.
            request.json_may_hold_unstorable = ESCAPE_OF_UNSTORABLE.search(text) is not None
        return data


def _check_depth(data) -> None:
    """Level by level, without recursion, so that the check cannot fail the way it guards
    against. One comprehension per level rather than a stack entry and a generator per
    container: a 1,000-event batch's walk took longer than parsing it (1.5 ms)."""
    level = [data] if isinstance(data, CONTAINERS) else []
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        level = [
            child
            for value in level
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, CONTAINERS)
        ]
        depth += 1
