"""The partner API's shapes as the OpenAPI schema states them (``pathways.api`` serves them):
request and answer bodies with their limits, and the one error shape with the statuses that use
it. The ingest validates bodies itself; these say what it accepts, for partners and generators."""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from pathways.models import (
    Case,
    CaseEvent,
    Eligibility,
    EventType,
    ExceptionItem,
    ExceptionKind,
    Pathway,
    RiskTier,
)
from pathways.services.ingest import ATTRIBUTE_CHOICES, MAX_BATCH
from pathways.services.referrals import MAX_REFERRAL_FIELDS, REFERRAL_TEXT_LENGTH, SOURCE_LENGTH
from scaling_ops.api_parsers import MAX_JSON_DEPTH
from scaling_ops.models import Site


class ErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(
        required=False, help_text="The position of the refused item in an event batch (from 0)."
    )
    field = serializers.CharField(
        allow_null=True,
        help_text="The field at fault as a dotted path (`data.risk_tier`, `[3].occurred_at`), "
        "or null when the request as a whole is at fault.",
    )
    message = serializers.CharField(help_text="What was wrong and how to fix it.")


class ErrorsSerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


# Every refusal has the one shape above; these say when each status is answered.
ERROR_DESCRIPTIONS = {
    400: "The request cannot be taken as sent: not JSON, a field missing or invalid, a time "
    "outside 1900-01-01T00:00Z to now + 5 minutes. Each error names the field and the fix; "
    "nothing is stored.",
    401: "No partner key, an unknown key or a revoked key. Send 'Authorization: Bearer <key>'.",
    403: "The key may not use that site.",
    404: "Nothing here for this key.",
    409: "The request conflicts with what is stored; nothing is stored.",
    413: "The body is larger than 8 MB; split the batch.",
    429: "Too many requests for this key; retry after the seconds in the Retry-After header.",
}


def error_responses(*codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """The documented refusals of an operation; ``descriptions`` (``e404="..."``) say more
    precisely when that operation answers a status."""
    return {
        code: OpenApiResponse(
            ErrorsSerializer, description=descriptions.get(f"e{code}", ERROR_DESCRIPTIONS[code])
        )
        for code in codes
    }


class AttributesSerializer(serializers.Serializer):
    language_need = serializers.BooleanField(required=False)
    disability = serializers.BooleanField(required=False)
    rurality = serializers.ChoiceField(ATTRIBUTE_CHOICES["rurality"], required=False)
    housing = serializers.ChoiceField(ATTRIBUTE_CHOICES["housing"], required=False)


PLAUSIBLE_TIME = (
    "ISO 8601 with an offset within ±15:59, from 1900-01-01T00:00Z to 5 minutes after the "
    "server's clock, e.g. 2026-03-02T10:00:00+00:00."
)


SITE_CODE_LENGTH = Site._meta.get_field("code").max_length


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "maxProperties": MAX_REFERRAL_FIELDS,
        "additionalProperties": {
            "nullable": True,
            "anyOf": [
                {"type": "string", "maxLength": REFERRAL_TEXT_LENGTH},
                {"type": "number"},
                {"type": "boolean"},
            ],
        },
        "example": {"discharge_medication_list": True, "discharge_summary": "Sent 2 March"},
    }
)
class ReferralFieldsField(serializers.DictField):
    """The referral's fields (schema above): names of 1 to 80 characters, scalar values."""


REFERRAL_HELP = (
    "The referral's fields, named as the pathway's referral_fields name them (e.g. "
    "discharge_medication_list): text of at most "
    f"{REFERRAL_TEXT_LENGTH} characters, numbers, true/false or null, at most "
    f"{MAX_REFERRAL_FIELDS} fields with names of 1 to 80 characters. Left out, the stored referral "
    "stays as it is; sent, it replaces it. An incomplete or ineligible referral is stored, never "
    "refused: the case is held at the supervisor's front door until a later PUT completes it "
    "or a supervisor accepts it."
)


class FrontDoorSerializer(serializers.Serializer):
    complete = serializers.BooleanField(
        help_text="False while a required referral field is missing."
    )
    missing_required = serializers.ListField(child=serializers.CharField())
    missing_recommended = serializers.ListField(child=serializers.CharField())
    eligibility = serializers.ChoiceField(
        [*Eligibility.values, ""],
        help_text="eligible, ineligible (failing rules listed), not_assessable (a rule's field "
        "is missing), or empty when the pathway has no eligibility rules.",
    )
    rules = serializers.ListField(
        child=serializers.DictField(),
        help_text="The rules that fail or cannot be checked: rule, reason, outcome.",
    )
    held_for_review = serializers.BooleanField(
        help_text="True while the referral waits at the front door (not completed, not accepted)."
    )
    computed_tier = serializers.CharField(
        allow_blank=True,
        help_text="The pathway's risk tool's tier from the latest scored assessment.",
    )


class CaseInSerializer(serializers.Serializer):
    site = serializers.CharField(
        min_length=1,
        max_length=SITE_CODE_LENGTH,
        help_text="The site's code; the key must hold the site.",
    )
    pathway = serializers.CharField(
        min_length=1,
        max_length=Pathway._meta.get_field("slug").max_length,
        help_text="The pathway's slug; a new case is pinned to its active version.",
    )
    referral_at = serializers.DateTimeField(
        help_text=f"When the case was referred. {PLAUSIBLE_TIME}"
    )
    risk_tier = serializers.ChoiceField(RiskTier.values)
    attributes = AttributesSerializer(required=False)
    referral_source = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=SOURCE_LENGTH,
        help_text='Who referred, e.g. "East General discharge team": referral quality is '
        "measured per source. Left out, the stored source stays as it is.",
    )
    referral = ReferralFieldsField(required=False, allow_null=True, help_text=REFERRAL_HELP)


class CaseOutSerializer(serializers.Serializer):
    external_ref = serializers.CharField()
    site = serializers.CharField()
    pathway = serializers.CharField()
    pathway_version = serializers.IntegerField()
    pathway_version_reason = serializers.CharField(
        help_text="Why the case follows that version: the network's active version, a pilot "
        "at its site, or its site's variant."
    )
    referral_at = serializers.DateTimeField()
    risk_tier = serializers.ChoiceField(RiskTier.values)
    attributes = AttributesSerializer()
    referral_source = serializers.CharField(allow_blank=True)
    referral = ReferralFieldsField()
    front_door = FrontDoorSerializer()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EventInSerializer(serializers.Serializer):
    id = serializers.CharField(
        min_length=1,
        max_length=CaseEvent._meta.get_field("event_id").max_length,
        help_text="Your event id, unique per organisation: sending it again is a no-op.",
    )
    case = serializers.CharField(
        min_length=1,
        max_length=Case._meta.get_field("external_ref").max_length,
        help_text="The case's external_ref.",
    )
    type = serializers.ChoiceField(EventType.values)
    step = serializers.CharField(
        required=False,
        max_length=CaseEvent._meta.get_field("step_key").max_length,
        help_text="The step's key in the case's pathway version; needed for step_completed.",
    )
    occurred_at = serializers.DateTimeField(help_text=f"When it happened. {PLAUSIBLE_TIME}")
    data = serializers.DictField(
        required=False,
        help_text="risk_tier for risk_tier_changed, outcome for outcome_recorded, the "
        "assessment's fields and complete for an assessment step; JSON nested at most "
        f"{MAX_JSON_DEPTH} levels deep in the whole body.",
    )


class EventBatchSerializer(serializers.Serializer):
    """An array of 1 to MAX_BATCH events, for the schema only (``EventBatchSchema``): the
    ingest reads the body itself, and a list serializer's schema carries no item bounds."""


class EventBatchSchema(OpenApiSerializerExtension):
    target_class = EventBatchSerializer

    def map_serializer(self, auto_schema, direction):
        item = auto_schema.resolve_serializer(EventInSerializer, direction)
        return {"type": "array", "items": item.ref, "minItems": 1, "maxItems": MAX_BATCH}


class EventResultSerializer(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.ChoiceField(["created", "duplicate"])


class IngestResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    results = EventResultSerializer(many=True)


class ExceptionOutSerializer(serializers.Serializer):
    case = serializers.CharField()
    site = serializers.CharField()
    step = serializers.CharField(help_text="The step key; the rule key for missed_escalation.")
    kind = serializers.ChoiceField(ExceptionKind.values)
    due_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(ExceptionItem.Status.values)


class ExceptionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")
    results = ExceptionOutSerializer(many=True)
