from django.urls import path

from scaling_ops import views

urlpatterns = [
    path("", views.org_home, name="org_home"),
    path("sites/", views.site_list, name="site_list"),
    path("sites/<str:code>/", views.site_detail, name="site_detail"),
    path("members/", views.membership_list, name="membership_list"),
    path("keys/", views.partner_key_list, name="partner_key_list"),
    path("keys/<int:pk>/revoke/", views.partner_key_revoke, name="partner_key_revoke"),
]
