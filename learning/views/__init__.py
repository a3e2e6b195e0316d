"""Learning pages under /o/<org>/learning/: each area's module declares its ``urlpatterns``."""
