"""Pathway pages under /o/<org>/: each area's view module declares its own ``urlpatterns``."""

from django.urls import include, path

urlpatterns = [
    path("", include("pathways.views.versions")),
    path("", include("pathways.views.escalations")),
    path("", include("pathways.views.exceptions")),
    path("", include("pathways.views.cases")),
    path("", include("pathways.views.front_door")),
]
