"""Coaching sessions, their agenda, and the workforce side of a tracked drift response."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from pathways.extension_points import drift_response_part_done
from pathways.site_figures import FollowUpAction, ResponsePart, figures_for_week, follow_up_log
from scaling_ops.forms import TEXT_MAX_LENGTH
from scaling_ops.links import org_path
from scaling_ops.models import Organization, Site
from workforce.coaching.models import CoachingSession, SupervisionOverride
from workforce.models import CASELOAD_ROLES, StaffMember, SupervisionSession, Team
from workforce.services.checks import Standards, staff_in_post

AGENDA_DAYS = 7
# A session is recorded once held, and not from before the service could have run.
EARLIEST_SESSION = date(2000, 1, 1)


def agenda_week(held_on: date) -> tuple[date, date]:
    """The week before a session: the seven days ending the day before it."""
    return held_on - timedelta(days=AGENDA_DAYS), held_on - timedelta(days=1)


def coaching_agenda(*, site: Site, held_on: date, organization: Organization) -> list[dict]:
    """The site's figures for the week before ``held_on``, grouped by topic, each linking to the
    page that shows the same figure (``pathways.extension_points.site_week_figures``)."""
    start, end = agenda_week(held_on)
    figures = figures_for_week(site=site, week_start=start, week_end=end, organization=organization)
    topics: dict[str, list[dict]] = {}
    for figure in figures:
        item = {"label": figure.label, "value": figure.value, "url": figure.url}
        if figure.denominator is not None:  # a rate: keep its parts
            item |= {"numerator": figure.numerator, "denominator": figure.denominator}
        topics.setdefault(figure.topic, []).append(item)
    return [{"topic": topic, "items": items} for topic, items in topics.items()]


def _text(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > TEXT_MAX_LENGTH:
        raise ValidationError({field: f"Keep it under {TEXT_MAX_LENGTH} characters."})
    return value


@transaction.atomic
def coaching_session_record(
    *,
    site: Site,
    held_on: date,
    lead,
    attendees,
    by,
    organization: Organization,
    team: Team | None = None,
    notes: str = "",
    follow_up: str = "",
    session: CoachingSession | None = None,
) -> CoachingSession:
    """Records a held session (filling a scheduled one when given, else the earliest one due
    at the site) with the agenda of the week before it, as the figures stood."""
    today = timezone.localdate(timezone=organization.zone)
    if held_on > today:
        raise ValidationError({"held_on": "Record a session once it has been held."})
    if held_on < EARLIEST_SESSION:
        raise ValidationError({"held_on": f"Give a date after {EARLIEST_SESSION:%Y}."})
    if team is not None and team.site_id != site.pk:
        raise ValidationError({"team": f"{team.name} is not a team of {site.name}."})
    attendees = list(attendees)
    if not attendees:
        raise ValidationError({"attendees": "Tick who attended."})
    strangers = [a.name for a in attendees if a.site_id != site.pk]
    if strangers:
        raise ValidationError({"attendees": f"Not staff of {site.name}: {', '.join(strangers)}."})
    notes, follow_up = _text(notes, "notes"), _text(follow_up, "follow_up")
    if session is None:
        session = (
            CoachingSession.objects.filter(site=site, held_on__isnull=True)
            .order_by("due_on", "pk")
            .first()
        ) or CoachingSession(site=site, created_by=by)
    elif session.site_id != site.pk:
        raise ValidationError({"site": "This session belongs to another site."})
    session.team = team
    session.lead = lead
    session.held_on = held_on
    session.notes = notes
    session.follow_up = follow_up
    session.agenda_week_start = agenda_week(held_on)[0]
    session.agenda = coaching_agenda(site=site, held_on=held_on, organization=organization)
    session._history_user = by
    session._change_reason = "Held"
    session.save()
    session.attendees.set(attendees)
    if session.source_key:
        # A drift response's coaching held: its verdict may be judged now (assurance listens).
        drift_response_part_done.send(
            sender=CoachingSession, source_key=session.source_key, site=site
        )
    return session


def drift_parts_touched(*, site_id: int, held_on: date) -> None:
    """A supervision session at a site under extra supervision may complete that part of a
    drift response: say so for each override covering the day."""
    overrides = SupervisionOverride.objects.filter(
        site_id=site_id, starts_on__lte=held_on, ends_on__gte=held_on
    ).select_related("site")
    for override in overrides:
        drift_response_part_done.send(
            sender=SupervisionOverride, source_key=override.source_key, site=override.site
        )


def coaching_session_schedule(
    *, site: Site, due_on: date, source_key: str = "", source_label: str = "", by=None
) -> CoachingSession:
    """A session to hold by ``due_on``; once per ``source_key`` (a drift signal)."""
    if source_key:
        existing = CoachingSession.objects.filter(site=site, source_key=source_key).first()
        if existing is not None:
            return existing
    session = CoachingSession(
        site=site, due_on=due_on, source_key=source_key, source_label=source_label[:200],
        created_by=by,
    )  # fmt: skip
    session._change_reason = f"Scheduled: {source_label}" if source_label else "Scheduled"
    session.save()
    return session


def supervision_override_open(
    *, site: Site, interval_days: int, starts_on: date, ends_on: date, reason: str, source_key: str
) -> SupervisionOverride:
    override, created = SupervisionOverride.objects.get_or_create(
        site=site,
        source_key=source_key,
        defaults={
            "interval_days": interval_days,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "reason": reason[:200],
        },
    )
    if not created and override.ends_on != ends_on:
        override.ends_on = ends_on  # the re-audit window moved
        override._change_reason = "The re-audit window moved"
        override.save(update_fields=["ends_on"])
    return override


def on_drift_response_opened(
    sender, *, source_key: str, site, opened_on: date, window_until: date, label: str, **kwargs
) -> None:
    """A drift signal's standard response, as real records: a coaching session due within the
    standard's days, and a shorter supervision interval for the site's teams until the re-audit
    window ends."""
    standard = Standards().default
    coaching_session_schedule(
        site=site,
        due_on=opened_on + timedelta(days=standard.drift_coaching_due_days),
        source_key=source_key,
        source_label=label,
    )
    supervision_override_open(
        site=site,
        interval_days=standard.drift_supervision_interval_days,
        starts_on=opened_on,
        ends_on=window_until,
        reason=f"Extra supervision: {label}",
        source_key=source_key,
    )


def drift_response_parts(*, source_key: str, site) -> list[ResponsePart]:
    """The coaching session and the extra supervision of a drift response, done / due / late."""
    parts = []
    session = CoachingSession.objects.filter(site=site, source_key=source_key).first()
    if session is not None:
        parts.append(
            ResponsePart(
                label="Targeted coaching session",
                due_on=session.due_on,
                done_on=session.held_on,
                url=org_path(site.organization, "workforce_coaching_detail", pk=session.pk),
            )
        )
    override = SupervisionOverride.objects.filter(site=site, source_key=source_key).first()
    if override is not None:
        done_on, detail = extra_supervision_done_on(override)
        parts.append(
            ResponsePart(
                label=f"Extra supervision (every {override.interval_days} days until "
                f"{override.ends_on:%-d %B})",
                due_on=override.starts_on + timedelta(days=override.interval_days),
                done_on=done_on,
                url=org_path(site.organization, "workforce_site", code=site.code),
                detail=detail,
            )
        )
    return parts


def extra_supervision_done_on(override: SupervisionOverride) -> tuple[date | None, str]:
    """When every caseload holder in post at the site at the window's start had a supervision
    session inside the window (the last of those first sessions), else None."""
    people = list(
        staff_in_post(override.starts_on)
        .filter(site_id=override.site_id, role__in=CASELOAD_ROLES)
        .values_list("pk", flat=True)
    )
    if not people:
        return override.starts_on, "No caseload holders at the site."
    firsts = dict(
        SupervisionSession.objects.filter(
            staff_id__in=people, held_on__gte=override.starts_on, held_on__lte=override.ends_on
        )
        .values("staff_id")
        .annotate(first=Min("held_on"))
        .values_list("staff_id", "first")
    )
    seen = len(firsts)
    detail = f"{seen} of {len(people)} caseload holders supervised in the window."
    if seen < len(people):
        return None, detail
    return max(firsts.values()), detail


def coaching_sites_needing_cadence(*, day: date) -> set[int]:
    """Sites held to the weekly coaching cadence on ``day``: launching, or drifting (a drift
    response's extra supervision covers the day)."""
    launching = set(Site.objects.filter(status=Site.Status.LAUNCHING).values_list("pk", flat=True))
    drifting = set(
        SupervisionOverride.objects.filter(starts_on__lte=day, ends_on__gte=day).values_list(
            "site_id", flat=True
        )
    )
    return launching | drifting


def last_held(*, day: date) -> dict[int, date]:
    return dict(
        CoachingSession.objects.filter(held_on__lte=day)
        .values("site_id")
        .annotate(last=Max("held_on"))
        .values_list("site_id", "last")
    )


def coaching_due(*, day: date, site_ids=None) -> list[dict]:
    """Sites owing a coaching session on ``day``: a scheduled one past or near its date, or a
    cadence site whose last session is older than the standard's interval."""
    standard = Standards().default
    cadence = coaching_sites_needing_cadence(day=day)
    held = last_held(day=day)
    scheduled = CoachingSession.objects.filter(held_on__isnull=True, due_on__isnull=False)
    if site_ids is not None:
        cadence &= set(site_ids)
        scheduled = scheduled.filter(site_id__in=site_ids)
    owing = []
    for session in scheduled.select_related("site"):
        owing.append({"site_id": session.site_id, "due_on": session.due_on, "session": session})
    # A site with a session scheduled owes that one: the cadence reminder would say it twice.
    for site_id in sorted(cadence - {o["site_id"] for o in owing}):
        last = held.get(site_id)
        due = (last + timedelta(days=standard.coaching_interval_days)) if last else None
        owing.append({"site_id": site_id, "due_on": due, "last": last, "session": None})
    return owing


def staff_of_site(site: Site):
    return StaffMember.objects.filter(site=site).filter(
        Q(left_on__isnull=True) | Q(left_on__gt=timezone.localdate())
    )


FOLLOW_UP_SOURCE = "coachingsession"


def coaching_follow_up_raise(
    *, session: CoachingSession, title: str, owner, deadline: date, by
) -> FollowUpAction:
    """A follow-up action agreed at a held session, raised as an improvement action in the
    learning app's log (through ``pathways.extension_points.follow_up_actions``: workforce
    does not import learning) that records the session it came from."""
    if session.held_on is None:
        raise ValidationError({"title": "Record the session as held before raising follow-ups."})
    log = follow_up_log()
    if log is None:
        raise ValidationError({"title": "No improvement log is installed to hold the action."})
    return log.raise_action(
        source_model=FOLLOW_UP_SOURCE, source_id=session.pk, source_label=str(session),
        site=session.site, title=title, owner=owner, deadline=deadline, by=by,
    )  # fmt: skip


def coaching_follow_ups(*, session_ids: list[int]) -> dict[int, list[FollowUpAction]]:
    """The improvement actions raised from these sessions, by session id (one query)."""
    log = follow_up_log()
    if log is None or not session_ids:
        return {}
    return log.actions_for(source_model=FOLLOW_UP_SOURCE, source_ids=session_ids)
