"""The partner REST API (../shared/API.md): cases, case events, daily exception reports.

Views parse and answer; the writes are ``pathways.services.ingest`` and the reads are selectors.
Authentication (``scaling_ops.authentication``) has bound the key's organisation, so every query
here is tenant-scoped; ``request.user.site_ids`` are the sites the key may use."""

from datetime import date

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from pathways.models import Case, EventType, ExceptionItem, ExceptionKind, RiskTier
from pathways.selectors import exceptions as selectors
from pathways.services.ingest import (
    ATTRIBUTE_CHOICES,
    MAX_BATCH,
    IngestRefused,
    case_events_ingest,
    case_upsert,
)
from scaling_ops.models import Site

# --- shapes, for the OpenAPI schema and the answers -----------------------------------------


class ErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(required=False, help_text="The batch item, for events.")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


class AttributesSerializer(serializers.Serializer):
    language_need = serializers.BooleanField(required=False)
    disability = serializers.BooleanField(required=False)
    rurality = serializers.ChoiceField(ATTRIBUTE_CHOICES["rurality"], required=False)
    housing = serializers.ChoiceField(ATTRIBUTE_CHOICES["housing"], required=False)


class CaseInSerializer(serializers.Serializer):
    site = serializers.CharField(help_text="The site's code.")
    pathway = serializers.CharField(help_text="The pathway's slug.")
    referral_at = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    risk_tier = serializers.ChoiceField(RiskTier.values)
    attributes = AttributesSerializer(required=False)


class CaseOutSerializer(serializers.Serializer):
    external_ref = serializers.CharField()
    site = serializers.CharField()
    pathway = serializers.CharField()
    pathway_version = serializers.IntegerField()
    referral_at = serializers.DateTimeField()
    risk_tier = serializers.ChoiceField(RiskTier.values)
    attributes = AttributesSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EventInSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=100, help_text="Your event id, unique per organisation.")
    case = serializers.CharField(help_text="The case's external_ref.")
    type = serializers.ChoiceField(EventType.values)
    step = serializers.CharField(required=False, help_text="Needed for step_completed.")
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with an offset.")
    data = serializers.DictField(required=False)


class EventResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(["created", "duplicate"])


class IngestResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    results = EventResultSerializer(many=True)


class ExceptionOutSerializer(serializers.Serializer):
    case = serializers.CharField()
    site = serializers.CharField()
    step = serializers.CharField(help_text="The step key; the rule key for missed_escalation.")
    kind = serializers.ChoiceField(ExceptionKind.values)
    due_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(ExceptionItem.Status.values)


class ExceptionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = ExceptionOutSerializer(many=True)


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        for key, item in value.items():
            if _holds_nul(key) or _holds_nul(item):
                return True
    elif isinstance(value, list):
        for item in value:
            if _holds_nul(item):
                return True
    return False


def _first_nul(value, path: str) -> str | None:
    """The path of the first string (or key) holding a NUL character, which PostgreSQL cannot
    store: ``[0].data.note`` for a batch item's data, ``site`` for a query parameter."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    # Naming every path of a 1000-event batch would cost more than the walk: name only those
    # on the way to a NUL.
    if not _holds_nul(value):
        return None
    if isinstance(value, dict):
        named = (((f"{path}.{key}" if path else key), key, item) for key, item in value.items())
    elif isinstance(value, list):
        named = ((f"{path}[{index}]", "", item) for index, item in enumerate(value))
    else:
        return None
    for name, key, item in named:
        found = _first_nul(key, name) or _first_nul(item, name)
        if found is not None:
            return found
    return None


class PartnerAPIView(APIView):
    """Refuses NUL characters anywhere in the request before a view reads it."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        query = {key: "".join(request.query_params.getlist(key)) for key in request.query_params}
        found = (
            _first_nul(kwargs, "")
            or _first_nul(query, "")
            or (_first_nul(request.data, "") if request.method in ("POST", "PUT") else None)
        )
        if found is not None:
            raise ValidationError({found: ["Remove the NUL character."]})


def _refused(error: IngestRefused) -> Response:
    return Response({"errors": error.errors}, status=error.status)


def _case_out(case: Case) -> dict:
    return {
        "external_ref": case.external_ref,
        "site": case.site.code,
        "pathway": case.version.pathway.slug,
        "pathway_version": case.version.number,
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
        responses={200: CaseOutSerializer, 404: ErrorsSerializer},
        summary="Read a case",
    )
    def get(self, request, external_ref: str):
        case = (
            Case.objects.select_related("site", "version__pathway")
            .filter(external_ref=external_ref, site_id__in=request.user.site_ids)
            .first()
        )
        if case is None:
            # The same answer for "missing" and "at a site this key may not read".
            raise Http404("No such case for this key.")
        return Response(_case_out(case))

    @extend_schema(
        operation_id="case_put",
        parameters=[EXTERNAL_REF],
        request=CaseInSerializer,
        responses={
            200: CaseOutSerializer,
            201: CaseOutSerializer,
            400: ErrorsSerializer,
            403: ErrorsSerializer,
            409: OpenApiResponse(ErrorsSerializer, description="Written concurrently; retry"),
        },
        summary="Create or update a case (idempotent)",
    )
    def put(self, request, external_ref: str):
        try:
            case, created = case_upsert(
                external_ref=external_ref, payload=request.data, site_ids=request.user.site_ids
            )
        except IngestRefused as error:
            return _refused(error)
        case = Case.objects.select_related("site", "version__pathway").get(pk=case.pk)
        return Response(
            _case_out(case), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


# --- events ----------------------------------------------------------------------------------


class EventsView(PartnerAPIView):
    @extend_schema(
        operation_id="events_post",
        request=PolymorphicProxySerializer(
            component_name="EventOrBatch",
            serializers=[EventInSerializer, EventInSerializer(many=True)],
            resource_type_field_name=None,
            many=False,
        ),
        responses={
            201: IngestResultSerializer,
            400: ErrorsSerializer,
            409: ErrorsSerializer,
        },
        summary=f"Post one event or a batch of up to {MAX_BATCH}",
        description="A batch is validated whole: if any item is invalid nothing is stored. "
        "Replaying an event is a no-op reported as duplicate; reusing an id for different "
        "content is a 409.",
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


class ExceptionCursor(CursorPagination):
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


QUERY_PARAMETERS = {"date", "site", "kind", "status", "cursor", "page_size"}


def _choice(request, name: str, choices: list[str]) -> str:
    value = request.query_params.get(name)
    if value is None:
        return ""
    if value not in choices:
        raise ValidationError({name: [f"Use one of {', '.join(choices)}."]})
    return value


class ExceptionsView(PartnerAPIView):
    @extend_schema(
        operation_id="exceptions_list",
        parameters=[
            OpenApiParameter("date", str, description="YYYY-MM-DD; default: the latest report"),
            OpenApiParameter("site", str, description="A site code on the key"),
            OpenApiParameter("kind", str, enum=ExceptionKind.values),
            OpenApiParameter("status", str, enum=ExceptionItem.Status.values),
            OpenApiParameter("page_size", int, description="1 to 1000; default 100"),
            OpenApiParameter("cursor", str, description="From the previous page's next link"),
        ],
        responses={
            200: ExceptionPageSerializer,
            400: ErrorsSerializer,
            403: ErrorsSerializer,
            404: OpenApiResponse(ErrorsSerializer, description="No report for that date"),
        },
        summary="The daily exception report's items for the key's sites",
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
        report = selectors.exception_report_get(date=report_date)
        if report is None:
            raise Http404(
                f"No exception report for {report_date}."
                if report_date
                else "No exception report has been computed yet."
            )
        lines = selectors.exception_report_lines_for_sites(
            report=report, site_ids=site_ids, kind=kind, status=item_status
        )
        paginator = ExceptionCursor()
        page = paginator.paginate_queryset(lines, request, view=self)
        return paginator.get_paginated_response(
            [
                {
                    "case": line.item.case.external_ref,
                    "site": line.item.site.code,
                    "step": line.item.step,
                    "kind": line.kind,
                    "due_at": line.due_at.isoformat() if line.due_at else None,
                    "completed_at": line.completed_at.isoformat() if line.completed_at else None,
                    "status": line.item.status,
                }
                for line in page
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
