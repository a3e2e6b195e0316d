"""Assurance pages under /o/<org>/assurance/."""

from django.urls import include, path

urlpatterns = [
    path("", include("assurance.views.dashboards")),
    path("", include("assurance.views.snapshots")),
    path("", include("assurance.views.records")),
    path("", include("assurance.views.referrals")),
    path("", include("assurance.views.config")),
    path("", include("assurance.views.stability")),
    path("", include("assurance.contracts.views")),
]
