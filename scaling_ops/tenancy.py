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

from django.core.exceptions import ValidationError
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


def refuse_another_organization(organization_id: int, *, doing: str) -> None:
    """Raises ``TenantNotBound`` when an organisation other than ``organization_id`` is bound:
    work for one organisation started inside another's scope is a bug, never to be carried out
    (``doing`` completes "Refusing to ...")."""
    bound = bound_organization_id()
    if bound is not None and bound != organization_id:
        raise TenantNotBound(f"Refusing to {doing} inside the scope of organisation {bound}.")


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
        else:
            refuse_another_organization(
                self.organization_id, doing=f"save a row of organisation {self.organization_id}"
            )
        super().save(*args, **kwargs)


class WriteOnceModel(TenantModel):
    """Evidence (a governed decision, a computed figure): written once, never changed.
    ``rewrite_refusal`` says what to do instead; ``{name}`` is the model's verbose name."""

    rewrite_refusal = "A recorded {name} cannot be changed."

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError(self.rewrite_refusal.format(name=self._meta.verbose_name))
        super().save(*args, **kwargs)
