"""Partner writes: cases (idempotent upsert) and case events (validated whole, stored set-based).

The event path is deliberately lean: an item is checked in plain Python, the batch's cases are
resolved in one query, its steps in one, its stored ids (replays, reuses) in one, and the new
events go in by one COPY (PostgreSQL, fed as the items are checked) or one
``INSERT ... ON CONFLICT DO NOTHING RETURNING``
(SQLite, and PostgreSQL when the COPY meets an id a concurrent sender stored after that read):
the database's unique constraint, not the read, decides which of two concurrent senders stored
an event. Nothing is stored unless the whole batch is acceptable."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice

import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from pathways.models import Case, CaseEvent, EventType, PathwayVersion, RiskTier, Step
from pathways.plausible_time import CLOCK_SKEW, EARLIEST_PLAUSIBLE, latest_plausible
from pathways.selectors.routing import referral_route
from pathways.services.copy_text import copy_escaped
from pathways.services.ingest_hash import canonical_json, content_hash
from pathways.services.referrals import (
    REFERRAL_FIELDS,
    REFERRAL_STORED,
    case_computed_tiers_refresh,
    case_referral_assess,
    referral_errors,
)
from scaling_ops import tenancy
from scaling_ops.models import Site

MAX_BATCH = 1000
# PostgreSQL's timestamptz takes offsets up to 15:59 either way; Python takes up to 23:59.
MAX_OFFSET = timedelta(hours=15, minutes=59)
ATTRIBUTE_CHOICES = {
    "rurality": [choice for choice, _ in Case.Rurality.choices],
    "housing": [choice for choice, _ in Case.Housing.choices],
}
BOOLEAN_ATTRIBUTES = ("language_need", "disability")
EXTERNAL_REF_LENGTH = Case._meta.get_field("external_ref").max_length
STEP_KEY_LENGTH = CaseEvent._meta.get_field("step_key").max_length
# The choices' ``values`` build a new list on every access; an item check reads these instead.
EVENT_TYPES = tuple(EventType.values)
RISK_TIERS = tuple(RiskTier.values)
# So are the members it compares with: reading one off the enum class goes through its
# metaclass (about 0.5 us a time, three times an item: 1.4 ms of a 1,000-item batch).
STEP_COMPLETED = EventType.STEP_COMPLETED
RISK_TIER_CHANGED = EventType.RISK_TIER_CHANGED
OUTCOME_RECORDED = EventType.OUTCOME_RECORDED
# ``datetime.isoformat`` of a UTC time: seconds, microseconds unless they are zero, +00:00.
CANONICAL_UTC = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.(?!000000)[0-9]{6})?\+00:00"
)


class IngestRefused(Exception):
    """The request cannot be taken as it is; ``errors`` say what and where, ``status`` how."""

    def __init__(self, errors: list[dict], status: int = 400):
        super().__init__(errors)
        self.errors = errors
        self.status = status


def _error(field_name: str, message: str, index: int | None = None) -> dict:
    error = {"field": field_name, "message": message}
    if index is not None:
        error = {"index": index, **error}
    return error


def _shown(value) -> str:
    """A partner's value quoted in a message, cut short: a 200 KB string is not echoed back."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(value)} characters)"


def parse_aware_datetime(value, field_name: str, index: int | None = None, *, now: datetime):
    """An ISO 8601 datetime with an offset inside the plausible window, or (None, error).

    The window is checked here, before anything is stored: a year typo stored once stops every
    computation of the organisation (pandas holds nothing before 1677), and a year-1 time with a
    positive offset cannot even be converted to UTC."""
    if not isinstance(value, str) or not value:
        return None, _error(
            field_name,
            "Send an ISO 8601 datetime with an offset, e.g. 2026-03-02T10:00:00+00:00.",
            index,
        )
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        return None, _error(
            field_name,
            f"{_shown(value)} is not an ISO 8601 datetime; send e.g. 2026-03-02T10:00:00+00:00.",
            index,
        )
    offset = parsed.utcoffset()
    if offset is None:
        return None, _error(
            field_name,
            f"{_shown(value)} has no offset; add one (e.g. +00:00) so the time is unambiguous.",
            index,
        )
    if abs(offset) > MAX_OFFSET:
        return None, _error(
            field_name,
            f"{_shown(value)} has an offset beyond ±15:59; send the time with its real offset "
            "or in UTC (+00:00).",
            index,
        )
    if parsed < EARLIEST_PLAUSIBLE:
        return None, _error(
            field_name,
            f"{_shown(value)} is before 1900-01-01T00:00Z, the earliest time accepted; check the year.",
            index,
        )
    if parsed > latest_plausible(now):
        return None, _error(
            field_name,
            f"{_shown(value)} is more than {int(CLOCK_SKEW.total_seconds() // 60)} minutes ahead of "
            "the server; times from 1900-01-01T00:00Z to now are accepted. Check the year and "
            "the sender's clock.",
            index,
        )
    return parsed, None


# --- cases -----------------------------------------------------------------------------------


@dataclass
class CaseInput:
    site: Site
    version: PathwayVersion | None
    pathway_slug: str
    referral_at: datetime
    risk_tier: str
    attributes: dict = field(default_factory=dict)
    # The front door's fields, only those the PUT carries (an old partner sends none and the
    # stored referral stays as it was).
    referral: dict = field(default_factory=dict)


def _case_input(*, payload, site_ids: frozenset[int]) -> CaseInput:
    if not isinstance(payload, dict):
        raise IngestRefused([_error(None, "Send a JSON object describing the case.")])
    errors = []
    site = None
    site_code = payload.get("site")
    if not isinstance(site_code, str) or not site_code:
        errors.append(_error("site", 'Name the case\'s site by its code, e.g. "north".'))
    else:
        site = Site.objects.filter(code=site_code).first()
        if site is None:
            errors.append(
                _error("site", f"No site has the code {_shown(site_code)} in this organisation.")
            )
    slug = payload.get("pathway")
    version = None
    if not isinstance(slug, str) or not slug:
        errors.append(_error("pathway", 'Name the pathway by its slug, e.g. "hospital-to-home".'))
    else:
        version = PathwayVersion.objects.filter(
            pathway__slug=slug, status=PathwayVersion.Status.ACTIVE
        ).first()
    referral_at, error = parse_aware_datetime(
        payload.get("referral_at"), "referral_at", now=timezone.now()
    )
    if error:
        errors.append(error)
    risk_tier = payload.get("risk_tier")
    if risk_tier not in RiskTier.values:
        errors.append(_error("risk_tier", f"Use one of {', '.join(RiskTier.values)}."))
    attributes = payload.get("attributes", {})
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        errors.append(_error("attributes", "Send attributes as an object (or leave them out)."))
        attributes = {}
    for name, value in attributes.items():
        if name in BOOLEAN_ATTRIBUTES:
            if not isinstance(value, bool):
                errors.append(_error(f"attributes.{name}", "Use true or false."))
        elif name in ATTRIBUTE_CHOICES:
            if value not in ATTRIBUTE_CHOICES[name]:
                errors.append(
                    _error(
                        f"attributes.{name}", f"Use one of {', '.join(ATTRIBUTE_CHOICES[name])}."
                    )
                )
        else:
            known = ", ".join([*BOOLEAN_ATTRIBUTES, *ATTRIBUTE_CHOICES])
            errors.append(_error(f"attributes.{name}", f"Unknown attribute; known: {known}."))
    referral = {name: payload[name] for name in REFERRAL_FIELDS if name in payload}
    errors.extend(_error(name, message) for name, message in referral_errors(referral))
    if errors:
        raise IngestRefused(errors)
    if site.pk not in site_ids:
        raise IngestRefused(
            [_error("site", f"This key may not write cases at site {site.code!r}.")], status=403
        )
    return CaseInput(
        site=site,
        version=version,
        pathway_slug=slug,
        referral_at=referral_at,
        risk_tier=risk_tier,
        attributes=attributes,
        referral=referral,
    )


def _apply_attributes(case: Case, attributes: dict) -> None:
    for name in BOOLEAN_ATTRIBUTES:
        if name in attributes:
            setattr(case, name, attributes[name])
    for name in ATTRIBUTE_CHOICES:
        if name in attributes:
            setattr(case, name, attributes[name])


def _apply_referral(case: Case, referral: dict) -> None:
    if "referral_source" in referral:
        case.referral_source = (referral["referral_source"] or "").strip()
    if "referral" in referral:
        case.referral = referral["referral"] or {}
    case_referral_assess(case=case)


def case_upsert(*, external_ref: str, payload, site_ids: frozenset[int]) -> tuple[Case, bool]:
    """Creates the case pinned to the pathway's active version, or updates it. Idempotent: the
    same payload twice leaves the same row. Returns (case, created)."""
    data = _case_input(payload=payload, site_ids=site_ids)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                # The stored referral is replaced, never read: one stored before the API checked
                # its window (BC on PostgreSQL) cannot be read into Python, and this PUT repairs it.
                case = (
                    Case.objects.select_for_update()
                    .defer("referral_at")
                    .filter(external_ref=external_ref)
                    .first()
                )
                if case is None:
                    return _case_create(external_ref, data), True
                return _case_update(case, data, site_ids), False
        except IntegrityError:
            # A concurrent request created it between our read and insert: update it instead.
            continue
    raise IngestRefused([_error(None, "The case is being written concurrently; retry.")], 409)


def _case_create(external_ref: str, data: CaseInput) -> Case:
    if data.version is None:
        raise IngestRefused(
            [
                _error(
                    "pathway",
                    f"No active version of pathway {_shown(data.pathway_slug)}: a new case is pinned to "
                    "the pathway's active version, so one must be active.",
                )
            ]
        )
    if not 1 <= len(external_ref) <= EXTERNAL_REF_LENGTH:
        raise IngestRefused(
            [_error("external_ref", f"Use a reference of 1 to {EXTERNAL_REF_LENGTH} characters.")]
        )
    route = referral_route(
        pathway_slug=data.pathway_slug, site_id=data.site.pk, referral_at=data.referral_at
    )
    case = Case(
        external_ref=external_ref,
        site=data.site,
        version_id=route.version_id if route else data.version.pk,
        referral_at=data.referral_at,
        risk_tier=data.risk_tier,
    )
    _apply_attributes(case, data.attributes)
    _apply_referral(case, data.referral)
    case.save()
    return case


def _case_update(case: Case, data: CaseInput, site_ids: frozenset[int]) -> Case:
    if case.site_id not in site_ids:
        raise IngestRefused(
            [_error("site", "This case belongs to a site this key may not write.")], status=403
        )
    pinned = case.version.pathway.slug
    if data.pathway_slug != pinned:
        raise IngestRefused(
            [
                _error(
                    "pathway",
                    f"The case is pinned to pathway {pinned!r}; a case cannot move to another "
                    "pathway. Refer a new case instead.",
                )
            ]
        )
    case.site = data.site
    case.referral_at = data.referral_at
    case.risk_tier = data.risk_tier
    _apply_attributes(case, data.attributes)
    _apply_referral(case, data.referral)
    case.save(
        update_fields=[
            "site",
            "referral_at",
            "risk_tier",
            "language_need",
            "disability",
            "rurality",
            "housing",
            *REFERRAL_STORED,
            "updated_at",
        ]
    )
    return case


# --- events ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Event:
    index: int
    event_id: str
    case_ref: str
    type: str
    step: str
    occurred_at: datetime
    data: dict
    # The canonical forms the hash covers, kept for the insert: each is encoded once.
    occurred_utc: str = ""
    data_json: str = ""
    content_hash: str = ""
    case_id: int = 0
    version_id: int = 0


@dataclass
class IngestResult:
    created: int
    duplicates: int
    results: list[dict]


def _event_shape(index: int, item, now: datetime) -> tuple[_Event | None, list[dict]]:
    if not isinstance(item, dict):
        return None, [_error(None, "Each event must be a JSON object.", index)]
    errors = []
    event_id, case_ref = item.get("id"), item.get("case")
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 100:
        errors.append(_error("id", "Send your event id as a string of 1 to 100 characters.", index))
    if not isinstance(case_ref, str) or not 1 <= len(case_ref) <= EXTERNAL_REF_LENGTH:
        errors.append(
            _error(
                "case",
                f"Name the case by its external_ref, 1 to {EXTERNAL_REF_LENGTH} characters.",
                index,
            )
        )
    event_type = item.get("type")
    if event_type not in EVENT_TYPES:
        errors.append(_error("type", f"Use one of {', '.join(EVENT_TYPES)}.", index))
    step = item.get("step") or ""
    step_unusable = not isinstance(step, str) or len(step) > STEP_KEY_LENGTH
    if step_unusable:
        errors.append(
            _error(
                "step",
                f"Send the step key as a string of at most {STEP_KEY_LENGTH} characters.",
                index,
            )
        )
        step = ""
    if event_type == STEP_COMPLETED and not step and not step_unusable:
        errors.append(_error("step", "A step_completed event needs the step's key.", index))
    data = item.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.append(_error("data", "Send data as an object (or leave it out).", index))
        data = {}
    if event_type == RISK_TIER_CHANGED and data.get("risk_tier") not in RISK_TIERS:
        errors.append(
            _error(
                "data.risk_tier",
                f"risk_tier_changed needs one of {', '.join(RISK_TIERS)}.",
                index,
            )
        )
    if event_type == OUTCOME_RECORDED and not (
        isinstance(data.get("outcome"), str) and data["outcome"].strip()
    ):
        errors.append(
            _error(
                "data.outcome", "outcome_recorded needs an outcome code, e.g. readmission.", index
            )
        )
    sent_at = item.get("occurred_at")
    occurred_at, error = parse_aware_datetime(sent_at, "occurred_at", index, now=now)
    if error:
        errors.append(error)
    if errors:
        return None, errors
    return (
        _Event(
            index=index,
            event_id=event_id,
            case_ref=case_ref,
            type=event_type,
            step=step,
            occurred_at=occurred_at,
            data=data,
            # A time sent in UTC as ``isoformat`` writes it is already the text the hash
            # covers: matching it takes a quarter of writing it (0.6 ms of a 1,000-event batch).
            occurred_utc=sent_at
            if CANONICAL_UTC.fullmatch(sent_at)
            else occurred_at.astimezone(UTC).isoformat(),
        ),
        [],
    )


def _batch(payload) -> list:
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise IngestRefused([_error(None, "Send at least one event.")])
    if len(items) > MAX_BATCH:
        raise IngestRefused(
            [_error(None, f"Send at most {MAX_BATCH} events per request; split the batch.")]
        )
    return items


def case_events_ingest(*, payload, site_ids: frozenset[int]) -> IngestResult:
    """Validates the whole batch and stores its new events, all or nothing; replays are
    reported as duplicates, a reused id with different content refuses the batch with 409.

    The batch's cases, steps and stored ids are read first, from what the items name; then
    one pass in event-id order checks, resolves and hashes each item while its new events are
    inserted: on PostgreSQL they stream into the COPY as they are checked, so the server
    stores one part of the batch while Python checks the next (issue 20: a 1,000-event
    batch's checks, hashes and COPY took 13.6 ms one after the other, 9.4 ms streamed, when
    the server had a core to itself). An invalid item stops the stream, and the transaction,
    holding the rows sent so far, is rolled back once every item is checked: nothing is
    stored unless the whole batch is acceptable, and the answer names every invalid item."""
    now = timezone.now()
    items = _batch(payload)
    refs, event_ids = _named(items)
    cases = _cases_by_ref(refs)
    tools: dict[int, dict] = {}
    steps = _steps_by_version({version_id for _, _, version_id in cases.values()}, tools)
    intake = _Intake(items, now, site_ids, cases, steps)
    organization_id = tenancy.current_organization_id()
    try:
        with transaction.atomic():
            inserted, stored = _insert_new(intake, event_ids, organization_id, now)
            return _settle(intake, inserted, stored, tools)
    except _CopyRefused:
        # A concurrent request stored one of the ids after the read: the COPY's transaction
        # has been rolled back whole (it had written nothing else), and the ON CONFLICT
        # insert lets the unique constraint decide row by row.
        pass
    intake.check_rest()
    intake.refuse_invalid()
    with transaction.atomic():
        inserted, stored = _insert_on_conflict(intake.distinct(), organization_id, now)
        return _settle(intake, inserted, stored, tools)


def _named(items: list) -> tuple[set[str], list[str]]:
    """The case references and the distinct event ids (sorted) the batch's items could be
    using, read before the items are checked; an item that names them wrongly is refused by
    its check, whatever the reads found."""
    refs, event_ids = set(), set()
    for item in items:
        if isinstance(item, dict):
            case_ref, event_id = item.get("case"), item.get("id")
            if isinstance(case_ref, str) and 1 <= len(case_ref) <= EXTERNAL_REF_LENGTH:
                refs.add(case_ref)
            if isinstance(event_id, str) and 1 <= len(event_id) <= 100:
                event_ids.add(event_id)
    return refs, sorted(event_ids)


def _sent_id(item) -> str:
    event_id = item.get("id") if isinstance(item, dict) else None
    return event_id if isinstance(event_id, str) else ""


class _Intake:
    """The batch's items checked, resolved and hashed in one pass in event-id order (the
    order the rows take the unique index's locks in, so that two requests sharing ids do not
    deadlock), as its new events are taken."""

    def __init__(self, items: list, now: datetime, site_ids, cases: dict, steps: dict):
        self.items, self.now, self.site_ids = items, now, site_ids
        self.cases, self.steps = cases, steps
        self.errors: list[dict] = []
        # Ids used twice in the batch for different content.
        self.conflicts: list[dict] = []
        # The first valid event of each id, by index; a later one is a duplicate.
        self.first_by_id: dict[str, _Event] = {}
        self.repeated: set[int] = set()
        self._pass = self._checked()

    def new_events(self, stored: dict[str, str]) -> Iterator[_Event]:
        """The events to insert (each id's first, not among ``stored``), until an item is
        found invalid; the pass goes on over the rest with ``check_rest``. A conflicting
        reuse of an id does not stop it: every id is then either inserted or stored, which
        the answer's check of stored content relies on."""
        for event in self._pass:
            if self.errors:
                return
            if event.event_id not in stored:
                yield event

    def check_rest(self) -> None:
        for _ in self._pass:
            pass

    def refuse_invalid(self) -> None:
        if self.errors:
            raise IngestRefused(sorted(self.errors, key=lambda error: error["index"]))

    def distinct(self) -> list[_Event]:
        return list(self.first_by_id.values())

    def _checked(self) -> Iterator[_Event]:
        items, now = self.items, self.now
        for index in sorted(range(len(items)), key=lambda index: _sent_id(items[index])):
            event, item_errors = _event_shape(index, items[index], now)
            if event is None:
                self.errors.extend(item_errors)
                continue
            error = self._resolve(event)
            if error is not None:
                self.errors.append(error)
                continue
            _canonical(event)
            earlier = self.first_by_id.setdefault(event.event_id, event)
            if earlier is not event:
                if earlier.content_hash != event.content_hash:
                    self.conflicts.append(_conflict(event))
                self.repeated.add(event.index)
                continue
            yield event

    def _resolve(self, event: _Event) -> dict | None:
        """The item's error for an unknown case or step, or a case at a site the key may not
        write; else None, with the event's case and version set."""
        found = self.cases.get(event.case_ref)
        if found is None:
            return _error(
                "case",
                f"Unknown case {event.case_ref!r}; create it first with "
                f"PUT /api/v1/cases/{event.case_ref}/.",
                event.index,
            )
        case_id, site_id, version_id = found
        if site_id not in self.site_ids:
            return _error("case", "The case is at a site this key may not write.", event.index)
        if event.step and event.step not in self.steps.get(version_id, ()):
            known = ", ".join(sorted(self.steps.get(version_id, ())))
            return _error(
                "step",
                f"Step {_shown(event.step)} is not in the case's pathway version; known: {known}.",
                event.index,
            )
        event.case_id = case_id
        event.version_id = version_id
        return None


def _canonical(event: _Event) -> None:
    """The event's data as the content hash covers it, and the hash: kept for the insert, so
    that each is encoded once."""
    event.data_json = canonical_json(event.data)
    event.content_hash = content_hash(
        case=event.case_ref,
        type=event.type,
        step=event.step,
        occurred_utc=event.occurred_utc,
        data_json=event.data_json,
    )


# One probe of the (organization, external_ref) unique index per distinct reference. The
# OFFSET 0 keeps the lateral subquery from being flattened into a join, for which the planner
# would rather scan every case of a modest table: at 60,000 cases it chose a 9 ms sequential
# scan (for an IN list or a join alike) over these 700 probes' 1.8 ms, and the references
# travel as one JSON array, as the insert's columns do.
POSTGRES_CASES = f"""
    SELECT ref.external_ref, found.id, found.site_id, found.version_id
    FROM jsonb_array_elements_text(%s::jsonb) AS ref(external_ref)
    CROSS JOIN LATERAL (
        SELECT id, site_id, version_id FROM {Case._meta.db_table} AS known
        WHERE known.organization_id = %s AND known.external_ref = ref.external_ref
        OFFSET 0
    ) AS found
"""


def _cases_by_ref(refs: set[str]) -> dict[str, tuple[int, int, int]]:
    """external_ref -> (id, site_id, version_id) among the bound organisation's cases. Plain
    SQL: the ORM prepares the up to 1,000 values of an IN lookup one by one, which cost as much
    as running the query."""
    if not refs:
        return {}
    organization_id = tenancy.current_organization_id()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_CASES, [orjson.dumps(list(refs)).decode(), organization_id])
        else:
            cursor.execute(
                f"SELECT external_ref, id, site_id, version_id FROM {Case._meta.db_table} "
                f"WHERE organization_id = %s AND external_ref IN ({', '.join(['%s'] * len(refs))})",
                [organization_id, *refs],
            )
        return {row[0]: row[1:] for row in cursor.fetchall()}


POSTGRES_STORED_HASHES = f"""
    SELECT found.event_id, found.content_hash
    FROM jsonb_array_elements_text(%s::jsonb) AS sent(event_id)
    CROSS JOIN LATERAL (
        SELECT event_id, content_hash FROM {CaseEvent._meta.db_table} AS known
        WHERE known.organization_id = %s AND known.event_id = sent.event_id
        OFFSET 0
    ) AS found
"""


def _stored_hashes(event_ids: list[str]) -> dict[str, str]:
    """event_id -> content_hash among the bound organisation's stored events: on PostgreSQL
    one probe of the (organization, event_id) unique index per id, as for the cases."""
    organization_id = tenancy.current_organization_id()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                POSTGRES_STORED_HASHES, [orjson.dumps(event_ids).decode(), organization_id]
            )
        else:
            cursor.execute(
                f"SELECT event_id, content_hash FROM {CaseEvent._meta.db_table} WHERE "
                f"organization_id = %s AND event_id IN ({', '.join(['%s'] * len(event_ids))})",
                [organization_id, *event_ids],
            )
        return dict(cursor.fetchall())


def _steps_by_version(version_ids: set[int], tools: dict[int, dict]) -> dict[int, set[str]]:
    """version id -> its step keys; fills ``tools`` with each version's risk tool. Plain SQL,
    as for the cases; each version's front door (a row per step) is decoded once."""
    if not version_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT step.version_id, step.key, version.front_door "
            f"FROM {Step._meta.db_table} step "
            f"JOIN {PathwayVersion._meta.db_table} version ON version.id = step.version_id "
            f"WHERE step.organization_id = %s "
            f"AND step.version_id IN ({', '.join(['%s'] * len(version_ids))})",
            [tenancy.current_organization_id(), *version_ids],
        )
        rows = cursor.fetchall()
    steps: dict[int, set[str]] = {}
    for version_id, key, front_door in rows:
        if version_id not in steps:
            steps[version_id] = set()
            risk_tool = (_json_value(front_door) or {}).get("risk_tool")
            if risk_tool:
                tools[version_id] = risk_tool
        steps[version_id].add(key)
    return steps


def _json_value(value):
    """A JSON column as read by a plain cursor: text on SQLite and on PostgreSQL (Django reads
    jsonb as text and decodes it in the field)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _conflict(event: _Event) -> dict:
    return _error(
        "id",
        f"Event id {event.event_id!r} was already used for different content; send a new id "
        "for a different event.",
        event.index,
    )


def _settle(
    intake: _Intake, inserted: set[str], stored: dict[str, str], tools: dict[int, dict]
) -> IngestResult:
    """The batch's answer once its new events are inserted, inside the insert's transaction:
    refuses the whole batch (rolling the insert back) for an invalid item, then for a reused
    id, else refreshes the computed tiers the new assessments may change."""
    intake.check_rest()
    intake.refuse_invalid()
    distinct = intake.distinct()
    # Stored before (a replay or a conflicting reuse) or by a concurrent request whose
    # insert committed while ours waited on the unique constraint.
    conflicts = intake.conflicts + [
        _conflict(event)
        for event in distinct
        if event.event_id not in inserted and stored.get(event.event_id) != event.content_hash
    ]
    if conflicts:
        # Raised inside the atomic block: this batch's inserts are rolled back with it.
        raise IngestRefused(sorted(conflicts, key=lambda error: error["index"]), status=409)
    # A new assessment of a risk tool's step may change the case's computed tier.
    case_computed_tiers_refresh(
        tools={
            event.case_id: tools[event.version_id]
            for event in distinct
            if event.event_id in inserted
            and event.type == STEP_COMPLETED
            and tools.get(event.version_id, {}).get("step") == event.step
        }
    )
    repeated = intake.repeated
    results = [
        {
            "id": item["id"],
            "status": "created"
            if index not in repeated and item["id"] in inserted
            else "duplicate",
        }
        for index, item in enumerate(intake.items)
    ]
    created = len(inserted)
    return IngestResult(created=created, duplicates=len(results) - created, results=results)


COLUMNS = (
    "organization_id",
    "event_id",
    "case_id",
    "type",
    "step_key",
    "occurred_at",
    "data",
    "content_hash",
    "received_at",
)
# On PostgreSQL the batch travels as one JSON document of columns that the server unpacks: a
# VALUES list of 9,000 parameters costs about twice as much to send, parse and plan.
POSTGRES_INSERT = f"""
    INSERT INTO {CaseEvent._meta.db_table} ({", ".join(COLUMNS)})
    SELECT %s, item.event_id, item.case_id, item.type, item.step_key, item.occurred_at,
        item.data, item.content_hash, %s
    FROM jsonb_to_record(%s::jsonb) AS batch(
        event_id varchar[], case_id bigint[], type varchar[], step_key varchar[],
        occurred_at timestamptz[], data jsonb[], content_hash varchar[]
    ), unnest(
        batch.event_id, batch.case_id, batch.type, batch.step_key, batch.occurred_at,
        batch.data, batch.content_hash
    ) AS item(event_id, case_id, type, step_key, occurred_at, data, content_hash)
    ON CONFLICT (organization_id, event_id) DO NOTHING RETURNING event_id
"""


class _CopyRefused(Exception):
    """The COPY met an id stored after the batch's read of stored ids."""


def _insert_new(
    intake: _Intake, event_ids: list[str], organization_id: int, now: datetime
) -> tuple[set[str], dict[str, str]]:
    """Inserts the batch's new events, in the batch's transaction, as the intake checks them;
    returns the ids stored and the content hash of every other id, stored before.

    On PostgreSQL the batch's stored ids are read first and the rest go in by COPY: no
    speculative insertion per row and no JSON document to unpack, which took the server's CPU
    for a 1,000-event batch (one in ten a replay) from about 29 to 24 ms (issue 20). A
    concurrent request may store one of those ids between the read and the COPY: the unique
    constraint then refuses the COPY, raised as ``_CopyRefused`` for the caller to roll the
    transaction back and insert with ON CONFLICT instead. No savepoint around the COPY: its
    two round trips (about 0.45 ms a batch) would be paid by every batch for the rare race."""
    if connection.vendor != "postgresql":
        return _insert_on_conflict(list(intake.new_events({})), organization_id, now)
    stored = _stored_hashes(event_ids) if event_ids else {}
    if all(event_id in stored for event_id in event_ids):
        # A replayed batch: nothing to COPY (the items are still checked by the caller).
        return set(), stored
    rows = _CopyRows(intake.new_events(stored), organization_id, now)
    try:
        with connection.cursor() as cursor, connection.wrap_database_errors:
            # psycopg2's copy_expert is not wrapped by Django's cursor: its errors are made
            # Django's (a unique violation an IntegrityError) here.
            cursor.copy_expert(
                f"COPY {CaseEvent._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN", rows
            )
    except IntegrityError as error:
        raise _CopyRefused from error
    return rows.inserted, stored


def _insert_on_conflict(
    events: list[_Event], organization_id: int, now: datetime
) -> tuple[set[str], dict[str, str]]:
    """``_insert_new`` by ``INSERT ... ON CONFLICT DO NOTHING``: the unique constraint decides
    row by row, and the ids it refused are read for their stored content."""
    if not events:
        return set(), {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_INSERT, [organization_id, now, _json_columns(events)])
        else:
            cursor.execute(*_values_insert(events, organization_id, now))
        inserted = {event_id for (event_id,) in cursor.fetchall()}
    raced = [event.event_id for event in events if event.event_id not in inserted]
    return inserted, _stored_hashes(raced) if raced else {}


# Rows handed to psycopg2 per read: each read is sent as it comes, so the server stores one
# part while the next is checked. A part may be longer than the 8,192 characters psycopg2 asks
# for (about 40 rows); 25 to 200 rows a part measured alike in-process, 400 slower.
ROWS_PER_READ = 100


class _CopyRows:
    """The new events as COPY text for ``copy_expert``, a part at a time as it reads; notes
    the ids it has handed over."""

    def __init__(self, events: Iterator[_Event], organization_id: int, now: datetime):
        self.events = events
        self.organization_id = organization_id
        self.received_at = now.astimezone(UTC).isoformat()
        self.inserted: set[str] = set()

    def read(self, size: int = -1) -> str:
        organization_id, received_at = self.organization_id, self.received_at
        part = list(islice(self.events, ROWS_PER_READ))
        self.inserted.update(event.event_id for event in part)
        return "".join(
            [
                f"{organization_id}\t{copy_escaped(event.event_id)}\t{event.case_id}\t"
                f"{event.type}\t{copy_escaped(event.step)}\t{event.occurred_utc}\t"
                f"{copy_escaped(event.data_json)}\t{event.content_hash}\t{received_at}\n"
                for event in part
            ]
        )


def _json_columns(events: list[_Event]) -> str:
    """The batch as one JSON object of columns. The data column goes in last, in place of
    the object's closing brace, spliced from each event's canonical JSON (valid JSON already,
    and jsonb keeps no key order or spacing) rather than encoded a second time."""
    columns = {
        "event_id": [event.event_id for event in events],
        "case_id": [event.case_id for event in events],
        "type": [event.type for event in events],
        "step_key": [event.step for event in events],
        "occurred_at": [event.occurred_utc for event in events],
        "content_hash": [event.content_hash for event in events],
    }
    data = ",".join([event.data_json for event in events])
    # orjson: the server reads the same values (a sixth of json.dumps's time for these lists).
    return orjson.dumps(columns).decode()[:-1] + f',"data":[{data}]}}'


def _values_insert(events: list[_Event], organization_id: int, now: datetime) -> tuple[str, list]:
    received_at = _db_datetime(now)
    params = []
    for event in events:
        params.extend(
            (
                organization_id,
                event.event_id,
                event.case_id,
                event.type,
                event.step,
                _db_datetime(event.occurred_at),
                json.dumps(event.data),
                event.content_hash,
                received_at,
            )
        )
    row = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    sql = (
        f"INSERT INTO {CaseEvent._meta.db_table} ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([row] * len(events))
        + " ON CONFLICT (organization_id, event_id) DO NOTHING RETURNING event_id"
    )
    return sql, params


def _db_datetime(value: datetime):
    """What the backend's DateTimeField stores: UTC, naive on SQLite (USE_TZ stores UTC)."""
    return connection.ops.adapt_datetimefield_value(value.astimezone(UTC))
