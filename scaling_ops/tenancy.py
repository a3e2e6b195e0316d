"""Row-level tenancy that fails closed.

A tenant (an Organization) is bound to the current context by the request middleware, the partner
API authentication, or a Celery task. Tenant-owned models use ``TenantManager`` as ``objects``: it
refuses to build a queryset when no tenant is bound, so a forgotten scope is an exception, not a
leak. ``dangerously_unscoped`` is the escape hatch for admin, migrations and cross-tenant
operator commands; its name is meant to be noticed in review.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

_current_organization_id: ContextVar[int | None] = ContextVar(
    "current_organization_id", default=None
)


class TenantNotBound(RuntimeError):
    """A tenant-scoped model was queried with no organisation bound."""


def current_organization_id() -> int:
    organization_id = _current_organization_id.get()
    if organization_id is None:
        raise TenantNotBound(
            "No organisation is bound. Wrap the code in tenancy.scope(organization) "
            "or use the model's dangerously_unscoped manager deliberately."
        )
    return organization_id


def bound_organization_id() -> int | None:
    return _current_organization_id.get()


@contextmanager
def scope(organization) -> Iterator[None]:
    """Bind ``organization`` (an instance or a primary key) for the enclosed block."""
    organization_id = getattr(organization, "pk", organization)
    token = _current_organization_id.set(organization_id)
    try:
        yield
    finally:
        _current_organization_id.reset(token)


@contextmanager
def isolated() -> Iterator[None]:
    """Start with nothing bound and restore whatever was bound before, whatever the block binds."""
    token = _current_organization_id.set(None)
    try:
        yield
    finally:
        _current_organization_id.reset(token)


def activate(organization) -> None:
    """Bind for the rest of the current ``isolated()`` block (used by API authentication)."""
    _current_organization_id.set(getattr(organization, "pk", organization))


class TenantManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(organization_id=current_organization_id())


class TenantModel(models.Model):
    """Base for every tenant-owned row. ``organization`` defaults to the bound tenant."""

    organization = models.ForeignKey(
        "scaling_ops.Organization", on_delete=models.CASCADE, related_name="+", db_index=True
    )

    objects = TenantManager()
    dangerously_unscoped = models.Manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.organization_id is None:
            self.organization_id = current_organization_id()
        elif (bound := bound_organization_id()) is not None and bound != self.organization_id:
            raise TenantNotBound(
                f"Refusing to save a row of organisation {self.organization_id} "
                f"inside the scope of organisation {bound}."
            )
        super().save(*args, **kwargs)
