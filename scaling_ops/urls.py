"""The project URLconf: the composition root that mounts every app under ``/o/<org>/`` and the
partner API under ``/api/v1/``."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from scaling_ops import views, views_health
from scaling_ops.api_errors import UnknownAPIPath
from scaling_ops.login import SlowedLoginView

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
    path("accounts/login/", SlowedLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Outside /o/<org>/: the invitee is not a member of the organisation yet.
    path("invitations/<str:token>/", views.invitation_open, name="invitation_open"),
    path("admin/", admin.site.urls),
    path("o/<slug:org>/", include(org_patterns)),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("api/v1/", include("pathways.api_urls")),
    # Last: whatever the API routes above did not take answers a JSON 404, not HTML.
    re_path(r"^api/v1/.*$", UnknownAPIPath.as_view(), name="api_unknown"),
]
