"""Reads of the front door (README "The front door"): the referrals held for a supervisor at
the member's sites, in words (field names and rule reasons, never keys), in a fixed number of
queries."""

from dataclasses import dataclass
from functools import cache

from pathways.models import Case, PathwayVersion, ReferralAcceptance
from scaling_ops import tenancy

PANEL_SIZE = 50


@dataclass(frozen=True)
class HeldReferral:
    case: Case
    missing_required: list[str]
    missing_recommended: list[str]
    eligibility: str  # in words: "Eligible", "Ineligible", "Not assessable", ""
    reasons: list[str]


def front_door_held(*, sites) -> "QuerySet[Case]":  # noqa: F821
    """Cases at ``sites`` whose referral is incomplete, ineligible or not assessable and that
    no supervisor has accepted, oldest referral first."""
    return (
        Case.objects.filter(site__in=sites, referral_needs_review=True, acceptance__isnull=True)
        .select_related("site")
        .order_by("referral_at", "pk")
    )


def _held_cases(sites, limit: int) -> list[Case]:
    """The first ``limit`` of ``front_door_held`` without the referral document, each with its
    site from ``sites`` (no join): one written-out query, since the queue asks on every page
    and the ORM built this one in about 0.8 ms of CPU, three times its run (issue 20). A test
    compares it with ``front_door_held`` for held, accepted, completed and other-site cases."""
    by_id = {site.pk: site for site in sites}
    if not by_id:
        return []
    statement = _held_statement().format(sites=", ".join(["%s"] * len(by_id)))
    cases = list(
        Case.dangerously_unscoped.raw(statement, [tenancy.current_organization_id(), *by_id, limit])
    )
    for case in cases:
        case.site = by_id[case.site_id]
    return cases


@cache
def _held_statement() -> str:
    """``front_door_held``'s query, every column of the case but the referral document."""
    columns = ", ".join(
        f'c."{field.column}"' for field in Case._meta.concrete_fields if field.name != "referral"
    )
    return (
        f'SELECT {columns} FROM "{Case._meta.db_table}" c'
        ' WHERE c."organization_id" = %s AND c."referral_needs_review" AND c."site_id" IN ({sites})'
        f' AND NOT EXISTS (SELECT 1 FROM "{ReferralAcceptance._meta.db_table}" a'
        ' WHERE a."case_id" = c."id")'
        ' ORDER BY c."referral_at", c."id" LIMIT %s'
    )


def _field_names(front_doors: dict[int, dict]) -> dict[tuple[int, str], str]:
    return {
        (version_id, field["key"]): field["name"]
        for version_id, front_door in front_doors.items()
        for field in front_door.get("referral_fields", [])
    }


def front_door_rows(*, sites, limit: int = PANEL_SIZE) -> tuple[list[HeldReferral], int]:
    """The first ``limit`` held referrals in words, and how many are held in all: one query
    when none are held, at most three whatever the number."""
    cases = _held_cases(sites, limit)
    if not cases:
        return [], 0  # the queue asks on every page: nothing held costs this one query
    total = len(cases) if len(cases) < limit else front_door_held(sites=sites).count()
    front_doors = dict(
        PathwayVersion.objects.filter(pk__in={case.version_id for case in cases}).values_list(
            "pk", "front_door"
        )
    )
    names = _field_names(front_doors)
    rows = [
        HeldReferral(
            case=case,
            missing_required=[
                names.get((case.version_id, key), key) for key in case.referral_missing_required
            ],
            missing_recommended=[
                names.get((case.version_id, key), key) for key in case.referral_missing_recommended
            ],
            eligibility=case.get_eligibility_display() if case.eligibility else "",
            reasons=[
                rule["reason"] + (" (cannot be checked yet)" if rule["outcome"] != "fails" else "")
                for rule in case.eligibility_rules
            ],
        )
        for case in cases
    ]
    return rows, total
