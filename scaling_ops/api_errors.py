"""One error shape for the partner API: ``{"errors": [{"field": ..., "message": ...}]}``.

Partners parse errors by field, so DRF's nested dicts are flattened to dotted paths here."""

from rest_framework.exceptions import ErrorDetail, NotAuthenticated
from rest_framework.views import exception_handler as drf_exception_handler

MISSING_KEY = "Send your partner key as 'Authorization: Bearer <key>'."


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
