"""Repair of stored rows dated outside the plausible window (``pathways.plausible_time``): the
year typos stored before the API refused them. Every computation already leaves them out; this
makes the organisation's data whole again, all or nothing.

- An event dated outside the window is deleted: no date for it can be inferred, and the partner
  can send it again with the right one (its event id is free once it is gone).
- A case's referral date outside the window cannot be deleted without its case, nor guessed: it
  is set to when the platform received the case (its ``created_at``), the one time we know, so
  that its obligations can be worked out again; the partner corrects it with a PUT of the case.
  The case is marked edited, so the next daily report evaluates it again.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F

from pathways.models import Case, CaseEvent
from pathways.selectors.obligations import implausible_cases, implausible_events


@dataclass(frozen=True)
class ImplausibleRepair:
    cases: list[dict]  # rows of implausible_cases, with the referral date they were given
    events: list[dict]  # rows of implausible_events, deleted


def implausible_times_repair(*, now: datetime) -> ImplausibleRepair:
    """Repairs the bound organisation's rows dated outside the window at ``now`` (see the
    module docstring) in one transaction, and returns what it changed."""
    with transaction.atomic():
        # Locked so that exactly the rows listed are the rows changed.
        cases = implausible_cases(now=now, lock=True)
        events = implausible_events(now=now, lock=True)
        CaseEvent.objects.filter(pk__in=[event["pk"] for event in events]).delete()
        Case.objects.filter(pk__in=[case["pk"] for case in cases]).update(
            referral_at=F("created_at"), updated_at=now
        )
    return ImplausibleRepair(cases=cases, events=events)
