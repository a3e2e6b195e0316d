"""Assurance pages under /o/<org>/assurance/: each area's module declares its ``urlpatterns``."""
