"""Reads of the front door (README "The front door"): the referrals held for a supervisor at
the member's sites, in words (field names and rule reasons, never keys), in a fixed number of
queries."""

from dataclasses import dataclass

from pathways.models import Case, PathwayVersion

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


def _field_names(front_doors: dict[int, dict]) -> dict[tuple[int, str], str]:
    return {
        (version_id, field["key"]): field["name"]
        for version_id, front_door in front_doors.items()
        for field in front_door.get("referral_fields", [])
    }


def front_door_rows(*, sites, limit: int = PANEL_SIZE) -> tuple[list[HeldReferral], int]:
    """The first ``limit`` held referrals in words, and how many are held in all: one query
    when none are held, at most three whatever the number."""
    held = front_door_held(sites=sites)
    cases = list(held.defer("referral")[:limit])
    if not cases:
        return [], 0  # the queue asks on every page: nothing held costs this one query
    total = len(cases) if len(cases) < limit else held.count()
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
