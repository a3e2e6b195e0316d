"""Views for pathway versions (stub: being written)."""

urlpatterns: list = []
