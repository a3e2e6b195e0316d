"""A partner's view of the API: a key for some of the personas' sites and a client that sends it."""

from rest_framework.test import APIClient

from scaling_ops import services, tenancy


def partner_client(organization, sites, name: str = "partner") -> APIClient:
    with tenancy.scope(organization):
        _, raw_key = services.partner_key_create(name=name, sites=list(sites))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def case_payload(**changes) -> dict:
    payload = {
        "site": "north",
        "pathway": "h2h",
        "referral_at": "2026-03-01T09:30:00+00:00",
        "risk_tier": "high",
        "attributes": {"language_need": True, "rurality": "rural", "housing": "unstable"},
    }
    payload.update(changes)
    return payload


def event_payload(number: int = 1, **changes) -> dict:
    payload = {
        "id": f"evt-{number}",
        "case": "C-1",
        "type": "step_completed",
        "step": "intake",
        "occurred_at": "2026-03-02T10:00:00+00:00",
        "data": {"complete": True},
    }
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}
