"""Pathways' notice source: the exceptions section of each supervisor's daily digest."""

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Q

from pathways.models import ExceptionItem, ExceptionKind
from pathways.site_figures import step_label, step_names
from scaling_ops.links import org_path
from scaling_ops.models import Organization, Role, Site
from scaling_ops.notifications import NoticeDraft, NoticeKind, NoticeSource

# An exception still open this many days after it was first reported is "ageing".
AGEING_DAYS = 3
OPEN = (ExceptionItem.Status.OPEN, ExceptionItem.Status.ASSIGNED)


def exception_digest_drafts(
    *, organization: Organization, today: date, now: datetime
) -> list[NoticeDraft]:
    """Per site: exceptions first reported yesterday (new) and those open for
    ``AGEING_DAYS`` or more (ageing), by step and kind; one aggregate query. Counts and step
    names only: no case refs, so the section is safe for anyone who may see the site."""
    yesterday = today - timedelta(days=1)
    ageing_from = today - timedelta(days=AGEING_DAYS)
    rows = (
        ExceptionItem.objects.filter(status__in=OPEN)
        .filter(Q(first_reported_on=yesterday) | Q(first_reported_on__lte=ageing_from))
        .values("site_id", "step", "kind")
        .annotate(
            new=Count("pk", filter=Q(first_reported_on=yesterday)),
            ageing=Count("pk", filter=Q(first_reported_on__lte=ageing_from)),
            oldest=Min("first_reported_on"),
        )
        .order_by("site_id", "step", "kind")
    )
    by_site = defaultdict(list)
    for row in rows:
        by_site[row["site_id"]].append(row)
    if not by_site:
        return []
    names = step_names()
    kinds = dict(ExceptionKind.choices)
    sites = {site.pk: site for site in Site.objects.filter(pk__in=list(by_site))}
    drafts = []
    for site_id, site_rows in by_site.items():
        site = sites[site_id]
        new = sum(r["new"] for r in site_rows)
        ageing = sum(r["ageing"] for r in site_rows)
        lines = [f"{new} new since yesterday, {ageing} open for {AGEING_DAYS} days or more."]
        for r in site_rows:
            parts = []
            if r["new"]:
                parts.append(f"{r['new']} new")
            if r["ageing"]:
                parts.append(f"{r['ageing']} ageing (oldest since {r['oldest']:%-d %b})")
            lines.append(
                f"{step_label(r['step'], names)} · {kinds.get(r['kind'], r['kind'])}: "
                + ", ".join(parts)
            )
        drafts.append(
            NoticeDraft(
                kind="exceptions_digest",
                key=f"exceptions_digest:{site_id}:{today.isoformat()}",
                title=f"Exceptions at {site.name}",
                heading=f"Exceptions at {site.name}",
                lines=lines,
                url=org_path(organization, "exception_queue", query={"site": site.code}),
                template="scaling_ops/notices/daily_digest",
                site_id=site_id,
                roles=(Role.SUPERVISOR, Role.IMPLEMENTATION_LEAD),
            )
        )
    return drafts


source = NoticeSource(
    name="pathways",
    kinds=(
        NoticeKind(
            "exceptions_digest",
            "New and ageing exceptions",
            roles=(Role.SUPERVISOR, Role.IMPLEMENTATION_LEAD),
            digest=True,
        ),
    ),
    collect=exception_digest_drafts,
)
