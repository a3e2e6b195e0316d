"""The partner REST API (../shared/API.md): cases, case events, daily exception reports.

Views parse and answer; the writes are ``pathways.services.ingest`` and the reads are selectors.
Authentication (``scaling_ops.authentication``) has bound the key's organisation, so every query
here is tenant-scoped; ``request.user.site_ids`` are the sites the key may use."""

import gc
import re
from contextlib import contextmanager
from datetime import date

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from pathways.api_shapes import (
    SITE_CODE_LENGTH,
    CaseInSerializer,
    CaseOutSerializer,
    EventBatchSerializer,
    EventInSerializer,
    ExceptionPageSerializer,
    IngestResultSerializer,
    error_responses,
)
from pathways.models import Case, ExceptionItem, ExceptionKind, ReferralAcceptance
from pathways.selectors import exceptions as selectors
from pathways.selectors.api_lines import exception_report_lines_for_sites
from pathways.selectors.obligations import plausible_referral
from pathways.selectors.routing import case_version_reason
from pathways.services.ingest import (
    MAX_BATCH,
    IngestRefused,
    case_events_ingest,
    case_upsert,
)
from scaling_ops.api_renderers import OrjsonRenderer
from scaling_ops.models import Site

# Characters PostgreSQL cannot store (NUL) or no UTF-8 encoder can write (a lone surrogate,
# which JSON's \ud800 escape can produce): refused at the edge, naming where they are.
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
SURROGATE = re.compile(r"[\ud800-\udfff]")


def _holds_unstorable(value) -> bool:
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        for key, item in value.items():
            if _holds_unstorable(key) or _holds_unstorable(item):
                return True
    elif isinstance(value, list):
        for item in value:
            if _holds_unstorable(item):
                return True
    return False


def _printable(key: str) -> str:
    """A key as it can be written back in the error: a lone surrogate escaped as ``\\ud800``."""
    return SURROGATE.sub(lambda match: f"\\u{ord(match[0]):04x}", key)


def _first_unstorable(value, path: str) -> tuple[str, str] | None:
    """(path, character) of the first string (or key) holding an unstorable character:
    ``[0].data.note`` for a batch item's data, ``site`` for a query parameter. The parser has
    bounded the nesting, so the recursion is shallow."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        return (path, found[0]) if found else None
    # Naming every path of a 1000-event batch would cost more than the walk: name only those
    # on the way to a bad character.
    if not _holds_unstorable(value):
        return None
    if isinstance(value, dict):
        named = (
            ((f"{path}.{_printable(key)}" if path else _printable(key)), key, item)
            for key, item in value.items()
        )
    elif isinstance(value, list):
        named = ((f"{path}[{index}]", "", item) for index, item in enumerate(value))
    else:
        return None
    for name, key, item in named:
        found = _first_unstorable(key, name) or _first_unstorable(item, name)
        if found is not None:
            return found
    return None


def _body_may_hold_unstorable(request) -> bool:
    """Whether the body needs the walk: only a written body, and only one whose JSON has an
    escape that could write such a character (the parser notes it while parsing, so the body
    is parsed first; the note read before would always say yes)."""
    if request.method not in ("POST", "PUT"):
        return False
    request.data  # noqa: B018 - parses the body, which sets the parser's note
    return getattr(request, "json_may_hold_unstorable", True)


class PartnerAPIView(APIView):
    """Refuses NUL characters and lone surrogates anywhere in the request before a view reads
    it; the body has already been parsed as JSON of bounded depth
    (``scaling_ops.api_parsers.StrictJSONParser``)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        query = {key: "".join(request.query_params.getlist(key)) for key in request.query_params}
        found = (
            _first_unstorable(kwargs, "")
            or _first_unstorable(query, "")
            or (_first_unstorable(request.data, "") if _body_may_hold_unstorable(request) else None)
        )
        if found is not None:
            where, character = found
            if character == "\x00":
                message = "Remove the NUL character."
            else:
                message = (
                    f"Remove the lone surrogate \\u{ord(character):04x}: text must be valid "
                    "Unicode (a \\ud83d-style escape needs its pair)."
                )
            raise ValidationError({where: [message]})


def _refused(error: IngestRefused) -> Response:
    return Response({"errors": error.errors}, status=error.status)


def _case_out(case: Case) -> dict:
    # Read only for the few cases held at the front door.
    held = case.referral_needs_review and not ReferralAcceptance.objects.filter(case=case).exists()
    return {
        "external_ref": case.external_ref,
        "site": case.site.code,
        "pathway": case.version.pathway.slug,
        "pathway_version": case.version.number,
        "pathway_version_reason": case_version_reason(case),
        "referral_at": case.referral_at.isoformat(),
        "risk_tier": case.risk_tier,
        "attributes": {
            name: value
            for name, value in (
                ("language_need", case.language_need),
                ("disability", case.disability),
                ("rurality", case.rurality),
                ("housing", case.housing),
            )
            if value not in (None, "")
        },
        "referral_source": case.referral_source,
        "referral": case.referral or {},
        "front_door": {
            "complete": not case.referral_missing_required,
            "missing_required": case.referral_missing_required,
            "missing_recommended": case.referral_missing_recommended,
            "eligibility": case.eligibility,
            "rules": case.eligibility_rules,
            "held_for_review": held,
            "computed_tier": case.computed_tier,
        },
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
    }


# --- cases -----------------------------------------------------------------------------------


# The URL takes any segment without a slash; the schema says so, so that generated refs are real.
EXTERNAL_REF = OpenApiParameter(
    "external_ref",
    str,
    OpenApiParameter.PATH,
    required=True,
    pattern=r"^[^/]{1,100}$",
    description="The partner's pseudonymous case reference.",
)


class CaseView(PartnerAPIView):
    @extend_schema(
        operation_id="case_get",
        parameters=[EXTERNAL_REF],
        responses={
            200: CaseOutSerializer,
            **error_responses(
                400,
                401,
                404,
                409,
                429,
                e400="The reference holds a NUL character.",
                e409="The stored referral time is unusable (before 1900, stored before the API "
                "checked it); a PUT with the real referral_at corrects it.",
                e404="No such case at the key's sites: the same answer whether the case is "
                "missing or at a site the key does not hold.",
            ),
        },
        summary="Read a case",
        description="The case as stored: its site, the pathway version it is pinned to, its "
        "referral time, risk tier and coded attributes.",
    )
    def get(self, request, external_ref: str):
        # A referral stored before the API checked its window (a year typo, BC on PostgreSQL)
        # cannot even be read into Python: it is read only where it is plausible.
        case = plausible_referral(
            Case.objects.select_related(
                "site", "organization", "version__pathway", "version__variant_of"
            ).filter(external_ref=external_ref, site_id__in=request.user.site_ids),
            now=timezone.now(),
        ).first()
        if case is None:
            # The same answer for "missing" and "at a site this key may not read".
            raise Http404("No such case for this key.")
        if case.plausible_referral_at is None:
            return _refused(
                IngestRefused(
                    [
                        {
                            "field": "referral_at",
                            "message": "The stored referral time is outside 1900-01-01 to now "
                            "(a year typo stored before the API checked it); send the case "
                            "again with PUT and its real referral_at to correct it.",
                        }
                    ],
                    status=status.HTTP_409_CONFLICT,
                )
            )
        case.referral_at = case.plausible_referral_at
        return Response(_case_out(case))

    @extend_schema(
        operation_id="case_put",
        parameters=[EXTERNAL_REF],
        request=CaseInSerializer,
        responses={
            200: OpenApiResponse(CaseOutSerializer, description="Updated."),
            201: OpenApiResponse(CaseOutSerializer, description="Created."),
            **error_responses(
                400,
                401,
                403,
                409,
                413,
                429,
                e403="The key may not write cases at that site, or the case is at such a site.",
                e409="Written concurrently by another request; retry.",
            ),
        },
        summary="Create or update a case",
        description="Creates the case (201), pinned to the pathway's active version (or to "
        "a pilot version, when the site pilots one at the referral time, or to the site's "
        "variant of the active version; pathway_version_reason says which and why), or "
        "updates it (200). Sending the same body again changes nothing. A case cannot move to "
        "another pathway: refer a new case instead. Every field is checked before anything is "
        "stored.",
    )
    def put(self, request, external_ref: str):
        try:
            case, created = case_upsert(
                external_ref=external_ref, payload=request.data, site_ids=request.user.site_ids
            )
        except IngestRefused as error:
            return _refused(error)
        case = Case.objects.select_related(
            "site", "organization", "version__pathway", "version__variant_of"
        ).get(pk=case.pk)
        return Response(
            _case_out(case), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- events ----------------------------------------------------------------------------------


@contextmanager
def _cyclic_gc_paused():
    """Python's cycle collector off for one event batch. A 1,000-item batch allocates tens of
    thousands of dicts and lists (parsed items, validated events, results), which set off some
    twenty young-generation collections and, every few batches, a full one over the worker's
    whole heap: about a third of the batch's Python CPU, for objects that reference counting
    frees anyway (the batch builds no cycles). The collector is turned back on at the end,
    and only if it was on: a thread that finds it already paused leaves it to the one that
    paused it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class EventsView(PartnerAPIView):
    # A batch's answer names every item: the same bytes as DRF's renderer, in a fifth the time.
    renderer_classes = [OrjsonRenderer]

    def dispatch(self, request, *args, **kwargs):
        # Around the whole request: the body is parsed (in ``initial``) before ``post`` runs.
        with _cyclic_gc_paused():
            return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        operation_id="events_post",
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch",
            serializers=[
                EventInSerializer,
                EventBatchSerializer,
            ],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: IngestResultSerializer,
            **error_responses(
                400,
                401,
                409,
                413,
                429,
                e400="At least one item is invalid (each error has its index and field), or "
                f"the body is not one event or an array of 1 to {MAX_BATCH}. Nothing is stored.",
                e409="An id was used before, or earlier in the batch, for different content. "
                "Nothing is stored.",
            ),
        },
        summary=f"Post one event or a batch of up to {MAX_BATCH}",
        description="A batch is validated whole: if any item is invalid nothing is stored. "
        "Replaying an event is a no-op reported as duplicate; reusing an id for different "
        "content is a 409. The case must exist at one of the key's sites and a step must be in "
        "the case's pathway version.",
    )
    def post(self, request):
        try:
            result = case_events_ingest(payload=request.data, site_ids=request.user.site_ids)
        except IngestRefused as error:
            return _refused(error)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "results": result.results},
            status=status.HTTP_201_CREATED,
        )


# --- exceptions ------------------------------------------------------------------------------


# A report line's id as a cursor position: ASCII digits, within a bigint.
LINE_ID_POSITION = re.compile(r"[0-9]{1,18}")


class ExceptionCursor(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def _get_position_from_instance(self, instance, ordering):
        # The rows are plain tuples, the line id first (pathways.selectors.api_lines).
        return str(instance[0])

    def decode_cursor(self, request):
        # DRF checks a cursor's offset and direction but passes its position through; a crafted
        # position that is no line id is as invalid as any other crafted cursor (a 404, not a
        # 500 from the id lookup).
        cursor = super().decode_cursor(request)
        position = None if cursor is None else cursor.position
        if position is not None and not LINE_ID_POSITION.fullmatch(position):
            raise NotFound(self.invalid_cursor_message)
        return cursor


QUERY_PARAMETERS = {"date", "site", "kind", "status", "cursor", "page_size"}


def _choice(request, name: str, choices: list[str]) -> str:
    value = request.query_params.get(name)
    if value is None:
        return ""
    if value not in choices:
        raise ValidationError({name: [f"Use one of {', '.join(choices)}."]})
    return value


class ExceptionsView(PartnerAPIView):
    renderer_classes = [OrjsonRenderer]

    @extend_schema(
        operation_id="exceptions_list",
        parameters=[
            OpenApiParameter(
                "date",
                OpenApiTypes.DATE,
                description="The report's day (YYYY-MM-DD); by default the latest report.",
            ),
            OpenApiParameter(
                "site",
                {"type": "string", "minLength": 1, "maxLength": SITE_CODE_LENGTH},
                description="Only this site, by its code; the key must hold it.",
            ),
            OpenApiParameter("kind", str, enum=ExceptionKind.values, description="Only this kind."),
            OpenApiParameter(
                "status",
                str,
                enum=ExceptionItem.Status.values,
                description="Only items in this triage state.",
            ),
            OpenApiParameter(
                "page_size",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": ExceptionCursor.max_page_size,
                    "default": ExceptionCursor.page_size,
                },
                description=f"Items per page, 1 to {ExceptionCursor.max_page_size}.",
            ),
            OpenApiParameter(
                "cursor", str, description="Copied from the previous page's next link."
            ),
        ],
        responses={
            200: ExceptionPageSerializer,
            **error_responses(
                400,
                401,
                403,
                404,
                429,
                e400="An unknown parameter, or a value out of range; the error names it.",
                e403="The key may not read that site.",
                e404="No report for that day (or none computed yet).",
            ),
        },
        summary="List the daily exception report's items",
        description="The items of one day's exception report (overdue and late steps, missed "
        "escalations, incomplete assessments) at the key's sites, oldest first and "
        "cursor-paginated: follow next until it is null.",
    )
    def get(self, request):
        self._check_parameters(request)
        report_date = self._date(request)
        kind = _choice(request, "kind", ExceptionKind.values)
        item_status = _choice(request, "status", ExceptionItem.Status.values)
        site_ids = request.user.site_ids
        site_code = request.query_params.get("site")
        if site_code is not None:
            site = Site.objects.filter(code=site_code).first()
            if site is None:
                raise ValidationError({"site": [f"No site has the code {site_code!r}."]})
            if site.pk not in site_ids:
                return Response(
                    {
                        "errors": [
                            {
                                "field": "site",
                                "message": f"This key may not read site {site_code!r}.",
                            }
                        ]
                    },
                    status=status.HTTP_403_FORBIDDEN,
                )
            site_ids = frozenset([site.pk])
        lines = exception_report_lines_for_sites(
            date=report_date, site_ids=site_ids, kind=kind, status=item_status
        )
        paginator = ExceptionCursor()
        page = paginator.paginate_queryset(lines, request, view=self)
        if not page and not selectors.exception_report_exists(date=report_date):
            raise Http404(
                f"No exception report for {report_date}."
                if report_date
                else "No exception report has been computed yet."
            )
        # The datetimes stay datetimes: the renderer writes them (isoformat, in C).
        return paginator.get_paginated_response(
            [
                {
                    "case": case_ref,
                    "site": line_site,
                    "step": step,
                    "kind": line_kind,
                    "due_at": due_at,
                    "completed_at": completed_at,
                    "status": line_status,
                }
                for _id, case_ref, line_site, step, line_kind, due_at, completed_at, line_status in page
            ]
        )

    @staticmethod
    def _check_parameters(request) -> None:
        """A misspelt filter would otherwise widen the answer silently."""
        unknown = sorted(set(request.query_params) - QUERY_PARAMETERS)
        if unknown:
            known = ", ".join(sorted(QUERY_PARAMETERS))
            raise ValidationError({unknown[0]: [f"Unknown parameter; use {known}."]})
        page_size = request.query_params.get("page_size")
        if page_size is not None and not (
            page_size.isdigit() and 1 <= int(page_size) <= ExceptionCursor.max_page_size
        ):
            raise ValidationError(
                {"page_size": [f"Use a whole number from 1 to {ExceptionCursor.max_page_size}."]}
            )

    @staticmethod
    def _date(request) -> date | None:
        value = request.query_params.get("date")
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValidationError({"date": [f"{value!r} is not a date; use YYYY-MM-DD."]}) from None
