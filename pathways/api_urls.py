"""The partner API under /api/v1/ (../shared/API.md)."""

from django.urls import path

from pathways.api import CaseView, EventsView, ExceptionsView

urlpatterns = [
    path("cases/<str:external_ref>/", CaseView.as_view(), name="api_case"),
    path("events/", EventsView.as_view(), name="api_events"),
    path("exceptions/", ExceptionsView.as_view(), name="api_exceptions"),
]
