"""Set-based loading of already-validated cases and events: the demo seeder's and the
benchmark's path into the database (partners go through the validated API ingest instead)."""

from collections.abc import Iterable

from django.utils import timezone

from pathways.models import Case, CaseEvent
from pathways.selectors.routing import ReferralRoutes
from pathways.services.ingest_hash import event_content_hash
from pathways.synthetic import SyntheticCase, SyntheticEvent
from scaling_ops.models import Site

BATCH_SIZE = 2000


def cases_bulk_load(*, cases: Iterable[SyntheticCase]) -> dict[str, int]:
    """Inserts cases pinned as a partner's PUT would pin them (pathways.selectors.routing); returns external_ref -> case id."""
    sites = dict(Site.objects.values_list("code", "id"))
    routes = ReferralRoutes()
    rows = [
        Case(
            external_ref=case.external_ref,
            site_id=sites[case.site],
            version_id=routes.route(
                pathway_slug=case.pathway, site_id=sites[case.site], referral_at=case.referral_at
            ).version_id,
            referral_at=case.referral_at,
            risk_tier=case.risk_tier,
            language_need=case.attributes.get("language_need"),
            disability=case.attributes.get("disability"),
            rurality=case.attributes.get("rurality", ""),
            housing=case.attributes.get("housing", ""),
        )
        for case in cases
    ]
    for row in rows:
        row.organization_id = _organization_id()
    Case.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)
    refs = [row.external_ref for row in rows]
    ids = {}
    for start in range(0, len(refs), BATCH_SIZE):
        chunk = refs[start : start + BATCH_SIZE]
        ids.update(Case.objects.filter(external_ref__in=chunk).values_list("external_ref", "id"))
    return ids


def events_bulk_load(*, events: Iterable[SyntheticEvent], case_ids: dict[str, int]) -> int:
    organization_id = _organization_id()
    now = timezone.now()
    rows = [
        CaseEvent(
            organization_id=organization_id,
            event_id=event.id,
            case_id=case_ids[event.case],
            type=event.type,
            step_key=event.step or "",
            occurred_at=event.occurred_at,
            received_at=min(event.occurred_at + event.delay, now),
            data=event.data or {},
            content_hash=event_content_hash(
                case=event.case,
                type=event.type,
                step=event.step,
                occurred_at=event.occurred_at,
                data=event.data or {},
            ),
        )
        for event in events
    ]
    CaseEvent.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)
    return len(rows)


def _organization_id() -> int:
    from scaling_ops.tenancy import current_organization_id

    return current_organization_id()
