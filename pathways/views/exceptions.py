"""Views for pathway exceptions (stub: being written)."""

urlpatterns: list = []
