"""Views for pathway cases (stub: being written)."""

urlpatterns: list = []
