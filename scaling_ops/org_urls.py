from django.urls import path

from scaling_ops import views, views_notices

urlpatterns = [
    path("", views.org_home, name="org_home"),
    path("search/", views.search, name="search"),
    path("sites/", views.site_list, name="site_list"),
    path("sites/<str:code>/", views.site_detail, name="site_detail"),
    path("members/", views.membership_list, name="membership_list"),
    path("members/<int:pk>/", views.membership_detail, name="membership_detail"),
    path("members/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("members/<int:pk>/notices/", views.membership_notices, name="membership_notices"),
    path(
        "members/invitations/<int:pk>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("keys/", views.partner_key_list, name="partner_key_list"),
    path("keys/<int:pk>/revoke/", views.partner_key_revoke, name="partner_key_revoke"),
    path("notices/", views_notices.notice_inbox, name="notice_inbox"),
    path("notices/read/", views_notices.notice_mark_read, name="notice_mark_read"),
    path("notices/unread/", views_notices.notice_unread_badge, name="notice_unread_badge"),
    path("notices/preferences/", views_notices.notice_preferences, name="notice_preferences"),
    path("notices/<int:pk>/", views_notices.notice_open, name="notice_open"),
    path("notices/<int:pk>/show/", views_notices.notice_detail, name="notice_detail"),
]
