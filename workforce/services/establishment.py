"""Team establishment: the funded FTE of a team from a date, set by leads. Each dated value is
a row with its own history; setting the same date again corrects that row (the correction is in
its history), never an earlier or later one."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from workforce.models import Team, TeamEstablishment

MAX_FTE = Decimal("999.99")
EARLIEST_DATE = date(2000, 1, 1)
# A funded post agreed for next year is a plan worth recording; further out is a typo.
FURTHEST_AHEAD = timedelta(days=2 * 366)


def team_establishment_set(
    *, team: Team, fte, effective_from: date, by=None, note: str = "", today: date | None = None
) -> TeamEstablishment:
    today = today or timezone.localdate()
    try:
        fte = Decimal(str(fte)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ValidationError({"fte": "Give the funded FTE as a number, e.g. 6.5."}) from None
    if not Decimal(0) <= fte <= MAX_FTE:
        raise ValidationError({"fte": f"Give an FTE between 0 and {MAX_FTE}, e.g. 6.5."})
    if not EARLIEST_DATE <= effective_from <= today + FURTHEST_AHEAD:
        raise ValidationError(
            {
                "effective_from": f"Give a date between {EARLIEST_DATE:%Y-%m-%d} and "
                f"{today + FURTHEST_AHEAD:%Y-%m-%d}."
            }
        )
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"note": "Keep the note to 200 characters."})
    row = TeamEstablishment.objects.filter(team=team, effective_from=effective_from).first()
    if row is None:
        row = TeamEstablishment(team=team, effective_from=effective_from)
    row.fte, row.note, row.set_by, row.set_at = fte, note, by, timezone.now()
    row._history_user = by
    row._change_reason = f"Establishment {fte} FTE from {effective_from:%Y-%m-%d}"
    row.save()
    return row


def establishment_on(*, team: Team, day: date) -> TeamEstablishment | None:
    return (
        TeamEstablishment.objects.filter(team=team, effective_from__lte=day)
        .order_by("-effective_from")
        .first()
    )
