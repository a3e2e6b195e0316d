"""Learning pages under /o/<org>/learning/."""

from django.urls import include, path

urlpatterns = [
    path("", include("learning.views.actions")),
    path("", include("learning.views.deviations")),
    path("", include("learning.views.reviews")),
    path("", include("learning.views.proposals")),
    path("", include("learning.views.publishing")),
]
