"""Shared pieces of the learning services: numbering, who-and-why for the history row."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Max

from scaling_ops.access import WRITE_ROLES
from scaling_ops.models import Membership


def next_number(model) -> int:
    """The organisation's next reference number; the unique constraint guards a race."""
    return (model.objects.aggregate(top=Max("number"))["top"] or 0) + 1


def record(instance, *, by, reason: str) -> None:
    if by is not None:
        instance._history_user = by
    instance._change_reason = reason


def required(value: str, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: f"Write {what}."})
    return value


def check_owner(owner) -> None:
    if owner is None or not Membership.objects.filter(user=owner, role__in=WRITE_ROLES).exists():
        raise ValidationError(
            {"owner": "Choose a supervisor, implementation lead or org admin as the owner."}
        )


def learning_record_publish(*, instance: models.Model, by, published: bool):
    """Publishes a record's free text to commissioners (or withdraws it), with who and when in
    its history. Commissioners then read it with case refs redacted (``learning.disclosure``)."""
    if instance.published_to_commissioners == published:
        return instance
    instance.published_to_commissioners = published
    record(
        instance,
        by=by,
        reason="Published to commissioners" if published else "Withdrawn from commissioners",
    )
    instance.save(update_fields=["published_to_commissioners"])
    return instance
