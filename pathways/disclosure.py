"""What of staff's free text a commissioner may read: the one rule every page, CSV and panel a
commissioner reaches goes through, whichever app the record belongs to.

Free text (titles, notes, reasons, decisions, history reasons) is written by staff and can carry
case refs and personal details: an accepted exception's reason becomes a deviation note, an
incident summary becomes an action title. So a commissioner sees a record's free text only when
a person published the record to commissioners (its ``published_to_commissioners``), or when the
text is written for commissioners by design (registered ``by_design``), and then with case refs
redacted; otherwise a placeholder. Commissioners never write, so the records are changed in
memory only, never saved. Everyone else sees the text as written.

It lives here, not in learning, because assurance and learning both need it and dependencies
point learning -> assurance -> pathways (the refs are pathways' cases). Each app registers its
own models' free-text fields with ``register_free_text``."""

import re

from pathways.models import Case
from scaling_ops.models import Membership

PLACEHOLDER = "(not published to commissioners)"
CASE_REF = "[case ref]"

# Model -> its free-text fields, filled by each app's own table (learning.disclosure, ...).
FREE_TEXT: dict[type, tuple[str, ...]] = {}
# Models whose text is written for commissioners (shown with case refs redacted, no flag).
BY_DESIGN: set[type] = set()

# Our own references (IA-3, DV-12, LR-1, CP-2), versions (v2), months and quarters are not
# case refs; any other token mixing letters and digits (C-1001, SECRETREF004, NHS1234567) or a
# long run of digits may be one.
OWN_TOKEN = re.compile(r"^(?:(?:IA|DV|LR|CP)-\d+|v\d+|\d{4}-(?:\d{2}|Q[1-4])(?:-\d{2})?)$", re.I)
REF_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[\w./#:-]{3,}$|^\d{6,}$")
TOKEN = re.compile(r"[\w./#:-]+")


def register_free_text(table: dict[type, tuple[str, ...]], *, by_design: bool = False) -> None:
    """Declare ``table``'s models and their free-text fields. ``by_design``: their text is
    written for commissioners (say why where it is registered), so no publish flag."""
    FREE_TEXT.update(table)
    if by_design:
        BY_DESIGN.update(table)


def is_commissioner(membership: Membership | None) -> bool:
    return membership is not None and membership.is_read_only


def is_published(record) -> bool:
    # A model without the flag (no one can publish it yet) stays unpublished: fail closed.
    return type(record) in BY_DESIGN or getattr(record, "published_to_commissioners", False)


def case_refs_in(texts) -> set[str]:
    """The organisation's case refs that occur as tokens of ``texts``. One query."""
    tokens = {token.strip(".:-/#") for text in texts for token in TOKEN.findall(text or "")}
    tokens.discard("")
    if not tokens:
        return set()
    return set(Case.objects.filter(external_ref__in=tokens).values_list("external_ref", flat=True))


def redact(text: str, refs: set[str] | None = None) -> str:
    """``text`` with every case ref of the organisation (``refs``: those found for a batch of
    texts, else looked up for this one) and every ref-like token replaced by ``[case ref]``."""
    if not text:
        return text
    return _redacted(text, case_refs_in([text]) if refs is None else refs)


def redact_ref_like(text: str) -> str:
    """``text`` with the tokens that look like a case ref replaced (no lookup)."""
    return _redacted(text, set())


def _redacted(text: str, refs: set[str]) -> str:
    # Whole tokens only: a short ref ("12") must not eat the digits of a date.
    def token(match: re.Match) -> str:
        value = match.group(0)
        core = value.strip(".:-/#")
        if core in refs or (core and not OWN_TOKEN.match(core) and REF_LIKE.match(core)):
            return value.replace(core, CASE_REF)
        return value

    return TOKEN.sub(token, text)


def shown(text: str, *, published: bool, refs: set[str] | None = None) -> str:
    """The text as a commissioner sees it."""
    if not text:
        return text
    return redact(text, refs) if published else PLACEHOLDER


def for_member(records, membership: Membership | None):
    """The records (a list or one record) with their free text as ``membership`` may read it.
    One query for the case refs of a whole list."""
    if not is_commissioner(membership):
        return records
    batch = [r for r in ([records] if not isinstance(records, list) else records) if r is not None]
    refs = case_refs_in(
        getattr(record, field)
        for record in batch
        if is_published(record)
        for field in FREE_TEXT[type(record)]
    )
    for record in batch:
        published = is_published(record)
        for field in FREE_TEXT[type(record)]:
            value = getattr(record, field)
            setattr(record, field, shown(value, published=published, refs=refs))
    return records


def history_for_member(history, record, membership: Membership | None) -> list:
    """History rows with the reasons (free text too: a rejection, an override) as the member may
    read them."""
    rows = list(history)
    if is_commissioner(membership):
        published = is_published(record)
        refs = case_refs_in(row.history_change_reason for row in rows) if published else set()
        for row in rows:
            row.history_change_reason = shown(
                row.history_change_reason or "", published=published, refs=refs
            )
    return rows


def each_for_member(records, membership: Membership | None, batch: int = 200):
    """``for_member`` over a query, a batch at a time (one query per batch), for a CSV."""
    chunk = []
    for record in records:
        chunk.append(record)
        if len(chunk) == batch:
            yield from for_member(chunk, membership)
            chunk = []
    yield from for_member(chunk, membership)
