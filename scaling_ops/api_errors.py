"""One error shape for the partner API: ``{"errors": [{"field": ..., "message": ...}]}``.

Partners parse errors by field, so DRF's nested dicts are flattened to dotted paths here. A body
the API cannot read (not JSON, too deep, too large) is answered in the same shape: the parser
(``scaling_ops.api_parsers``) refuses it before a view sees it, and the handler turns Django's
own refusals (an oversized body) into this shape instead of Django's HTML page."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.urls import Resolver404, resolve
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import (
    APIException,
    ErrorDetail,
    NotAuthenticated,
    NotFound,
    ParseError,
    UnsupportedMediaType,
)
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

MISSING_KEY = "Send your partner key as 'Authorization: Bearer <key>'."
SEND_JSON = "Send the body as JSON with 'Content-Type: application/json'."


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"

    def __init__(self):
        megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
        super().__init__(
            f"The body is larger than {megabytes} MB; split the batch into smaller requests."
        )


def flatten_errors(detail, path: str = "") -> list[dict]:
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            child = "" if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            errors.extend(flatten_errors(value, child or path))
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": path or None, "message": str(item)} for item in detail]
        errors = []
        for index, item in enumerate(detail):
            errors.extend(flatten_errors(item, f"{path}[{index}]"))
        return errors
    return [{"field": path or None, "message": str(detail)}]


def exception_handler(exc, context):
    if isinstance(exc, NotAuthenticated):
        exc.detail = ErrorDetail(MISSING_KEY, code=exc.default_code)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, UnsupportedMediaType):
        # The contract promises a 400 for any body the API cannot read, whatever its type.
        exc = ParseError(SEND_JSON)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "errors" in data:
        return response
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = {"errors": [{"field": None, "message": str(data["detail"])}]}
    else:
        response.data = {"errors": flatten_errors(data)}
    return response


@extend_schema(exclude=True)
class UnknownAPIPath(APIView):
    """Every path under /api/v1/ that no route takes: a JSON 404 (after the key check, like
    every route), instead of Django's HTML page or its slash redirect that drops a PUT's body."""

    def _not_found(self, request, *args, **kwargs):
        message = f"No API route at {request.path}; the routes are in /api/v1/schema/."
        if not request.path.endswith("/"):
            try:
                match = resolve(request.path + "/")
            except Resolver404:
                match = None
            if match is not None and match.url_name != "api_unknown":
                message = f"No API route at {request.path}; use {request.path}/ (with the slash)."
        raise NotFound(message)

    get = post = put = patch = delete = head = options = _not_found
