"""The project URLconf: the composition root that mounts every app under ``/o/<org>/`` and the
partner API under ``/api/v1/``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from scaling_ops import views, views_health

org_patterns = [
    path("", include("scaling_ops.org_urls")),
    path("", include("pathways.urls")),
    path("", include("workforce.urls")),
    path("", include("assurance.urls")),
    path("", include("learning.urls")),
]

urlpatterns = [
    path("", views.root, name="home"),
    path("healthz/", views_health.healthz, name="healthz"),
    path("readyz/", views_health.readyz, name="readyz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("o/<slug:org>/", include(org_patterns)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/", include("pathways.api_urls")),
]
