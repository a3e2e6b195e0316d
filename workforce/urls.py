"""Workforce pages under /o/<org>/: each area's view module declares its own ``urlpatterns``."""

from django.urls import include, path

urlpatterns = [
    path("", include("workforce.views.pages")),
    path("", include("workforce.views.supervision")),
    path("", include("workforce.views.caseload")),
    path("", include("workforce.views.readiness")),
    path("", include("workforce.coaching.views")),
]
