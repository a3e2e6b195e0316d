"""Partner API keys: ``Authorization: Bearer sok_<prefix>_<secret>``.

Authentication binds the key's organisation as the tenant for the rest of the request."""

import hmac
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, throttling

from scaling_ops import tenancy
from scaling_ops.models import PartnerKey

logger = logging.getLogger(__name__)
KEY_PREFIX = "sok"
# Recording every use would turn each read into a write; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)
# The key with its sites in one query: a row per site (one with no site for a key that holds
# none), every row carrying the key. Written out rather than built by the ORM on every call
# (issue 20: reading the key through a queryset took about 0.59 ms of CPU a request, this query
# 0.10 ms); the ORM still makes the PartnerKey and converts its values.
KEY_WITH_SITES = (
    'SELECT partner.*, held."site_id" AS held_site_id FROM "scaling_ops_partnerkey" partner'
    ' LEFT OUTER JOIN "scaling_ops_partnerkey_sites" held'
    ' ON (held."partnerkey_id" = partner."id")'
    ' WHERE partner."prefix" = %s'
)


@dataclass
class PartnerClient:
    """The ``request.user`` of an API call made with a partner key."""

    key: PartnerKey
    site_ids: frozenset[int] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return f"partner-key-{self.key.pk}"

    def __str__(self) -> str:
        return f"partner key {self.key.name}"


def split_key(raw_key: str) -> str | None:
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed(
                "Send the partner key as 'Authorization: Bearer <key>'."
            )
        raw_key = raw_key.strip()
        prefix = split_key(raw_key)
        rows = list(PartnerKey.dangerously_unscoped.raw(KEY_WITH_SITES, [prefix])) if prefix else []
        key = rows[0] if rows else None
        if key is None or not hmac.compare_digest(key.secret_hash, PartnerKey.hash_secret(raw_key)):
            raise exceptions.AuthenticationFailed("Unknown partner key.")
        if not key.is_active:
            raise exceptions.AuthenticationFailed("This partner key has been revoked.")
        self._touch(key)
        tenancy.activate(key.organization_id)
        site_ids = frozenset(row.held_site_id for row in rows if row.held_site_id is not None)
        return PartnerClient(key=key, site_ids=site_ids), key

    def authenticate_header(self, request) -> str:
        return self.keyword

    @staticmethod
    def _touch(key: PartnerKey) -> None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
            PartnerKey.dangerously_unscoped.filter(pk=key.pk).update(last_used_at=now)


class PartnerKeyRateThrottle(throttling.SimpleRateThrottle):
    scope = "partner_key"

    def allow_request(self, request, view) -> bool:
        """Fails open when the rate store (Redis in production) cannot be reached: a partner's
        events must not be refused because the limiter is down; the outage is logged."""
        try:
            return super().allow_request(request, view)
        except _cache_errors() as error:
            logger.warning("Partner API throttle skipped, its cache is unavailable: %s", error)
            return True

    def get_cache_key(self, request, view):
        if isinstance(request.auth, PartnerKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how partner keys are sent."""

    target_class = PartnerKeyAuthentication
    name = "PartnerKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "sok_<prefix>_<secret>"}


def _cache_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import RedisError
    except ImportError:  # no Redis client: only the local-memory cache, which cannot be down
        return (OSError,)
    return (RedisError, OSError)
