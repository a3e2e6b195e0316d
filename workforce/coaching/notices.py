"""Coaching due: a session a drift response scheduled, or the weekly cadence of a launching or
drifting site, falling due within 3 days (one reminder per session or due date)."""

from datetime import date, timedelta

from scaling_ops.links import org_path
from scaling_ops.models import Organization, Role, Site
from scaling_ops.notifications import NoticeDraft
from workforce.coaching.services import coaching_due

NOTICE_DAYS = 3


def coaching_due_drafts(*, organization: Organization, today: date) -> list[NoticeDraft]:
    sites = {site.pk: site for site in Site.objects.all()}
    drafts = []
    for owing in coaching_due(day=today):
        due = owing["due_on"]
        if due is None:
            due = today  # a cadence site never coached: due now
        if due > today + timedelta(days=NOTICE_DAYS):
            continue
        site = sites[owing["site_id"]]
        session = owing["session"]
        days = (due - today).days
        when = (
            "due today" if days == 0
            else f"due in {days} day{'s' if days != 1 else ''}" if days > 0
            else f"{-days} day{'s' if days != -1 else ''} late"
        )  # fmt: skip
        if session is not None:
            key = f"coaching:{session.pk}:{due.isoformat()}"
            lines = [
                f"{session.source_label or 'A scheduled coaching session'}: hold it by {due:%-d %B}."
            ]
            url = org_path(organization, "workforce_coaching_detail", pk=session.pk)
        else:
            key = f"coaching_cadence:{site.pk}:{due.isoformat()}"
            last = owing.get("last")
            lines = [
                f"{site.name} is held to weekly case-based coaching; "
                + (f"the last session was on {last:%-d %B}." if last else "none is recorded yet.")
            ]
            url = org_path(organization, "workforce_coaching", query={"site": site.code})
        drafts.append(
            NoticeDraft(
                kind="coaching_due",
                key=key,
                title=f"Coaching at {site.name} {when}",
                lines=lines,
                url=url,
                template="workforce/notices/coaching_due",
                site_id=site.pk,
                roles=(Role.IMPLEMENTATION_LEAD,),
            )
        )
    return drafts
