"""Notices: the one place that turns what the apps know into things people are told.

Each app registers a ``NoticeSource`` into ``scaling_ops.extension_points.notice_sources``
(pathways: the exceptions digest; workforce: training expiring, onboarding due, coaching due,
workforce exceptions; learning: improvement actions; assurance: corrective processes, re-audit
windows). On each beat tick (``scaling_ops.tasks.send_due_notices``) every organisation runs
``notices_generate`` then ``notices_email``:

- a source returns ``NoticeDraft``s for the organisation's local day: what to say, its natural
  key, the site it concerns, who it is for (roles and/or named users);
- the platform picks the recipients: members of the tenant with one of the roles (org admins
  with the leads) or named, who may see the draft's site; a draft carrying case details never reaches a commissioner;
- a digest draft becomes a section of the person's one daily digest, made from their chosen
  local hour;
- each notice is stored once per (user, key): a rerun finds it and sends nothing again;
- email goes out for notices whose kind the person has not turned off. A mail server that is
  down leaves the notice pending (the next tick retries, logged), never lost and never a 500.

Nothing here imports the apps above: they register into the point."""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from smtplib import SMTPException

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from scaling_ops import tenancy
from scaling_ops.extension_points import notice_sources
from scaling_ops.links import org_path
from scaling_ops.models import Membership, Notice, NoticePreference, Organization, Role, Site
from scaling_ops.selectors import visible_sites

logger = logging.getLogger(__name__)

# After this many failed attempts a notice's email is given up (it stays in the inbox).
MAX_EMAIL_ATTEMPTS = 8
MAX_LINES = 30
LINE_LENGTH = 300
DIGEST_KIND = "daily_digest"
DIGEST_TEMPLATE = "scaling_ops/notices/daily_digest"


@dataclass(frozen=True)
class NoticeKind:
    code: str
    label: str
    # The roles whose members may receive it (org admins with the leads): the preferences
    # pages list a member only the kinds their role can receive.
    roles: tuple[str, ...]
    digest: bool = False  # a section of the daily digest, not a notice of its own

    def reaches(self, role: str) -> bool:
        return role_is_told(role, self.roles)


def role_is_told(role: str, roles: Collection[str]) -> bool:
    """Whether a member of ``role`` is told what is meant for ``roles``. Org admins hold every
    lead's authority: what leads are told, they are told."""
    return role in roles or (role == Role.ORG_ADMIN and Role.IMPLEMENTATION_LEAD in roles)


@dataclass
class NoticeDraft:
    kind: str
    key: str  # the event's natural key; one notice per user and key, ever
    title: str
    lines: list[str]
    url: str  # a path under /o/<org>/
    template: str  # "<app>/notices/<kind>", rendered as .txt and .html
    site_id: int | None = None  # None: organisation-wide
    roles: Iterable[str] = ()
    user_ids: Iterable[int] = ()
    # Case refs or anything else of a case: never for a commissioner.
    case_details: bool = False
    heading: str = ""  # the section's heading in a digest


@dataclass(frozen=True)
class NoticeSource:
    name: str
    kinds: tuple[NoticeKind, ...]
    collect: Callable[..., list[NoticeDraft]] = field(compare=False)


def notice_kinds(role: str | None = None) -> list[NoticeKind]:
    """Every kind a person can receive (with ``role``: a member of that role), the digest
    first (for the preferences pages). The digest reaches whoever one of its sections does."""
    sources = notice_sources.providers()
    sections = [kind for source in sources for kind in source.kinds if kind.digest]
    digest_roles = tuple(dict.fromkeys(role for kind in sections for role in kind.roles))
    kinds = [NoticeKind(DIGEST_KIND, "Daily digest", roles=digest_roles)]
    kinds += [kind for source in sources for kind in source.kinds if not kind.digest]
    return [kind for kind in kinds if role is None or kind.reaches(role)]


def unread_cache_key(organization_id: int, user_id: int) -> str:
    return f"notices:unread:{organization_id}:{user_id}"


def _forget_unread(organization_id: int, user_ids: Iterable[int]) -> None:
    cache.delete_many([unread_cache_key(organization_id, user_id) for user_id in set(user_ids)])


def _clip(text: str, length: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _section(draft: NoticeDraft) -> dict:
    return {
        "heading": _clip(draft.heading or draft.title, 200),
        "lines": [_clip(line, LINE_LENGTH) for line in draft.lines[:MAX_LINES]],
        "url": draft.url[:300],
    }


@dataclass
class _Recipient:
    membership: Membership
    sites: set[int]
    preference: NoticePreference | None

    @property
    def user_id(self) -> int:
        return self.membership.user_id

    def may_receive(self, draft: NoticeDraft) -> bool:
        if draft.case_details and self.membership.role == Role.COMMISSIONER:
            return False
        if draft.site_id is not None and draft.site_id not in self.sites:
            return False
        return role_is_told(self.membership.role, draft.roles) or self.user_id in draft.user_ids

    def emails(self, kind: str) -> bool:
        return not (self.preference and kind in self.preference.email_off)

    def digest_due(self, local_now: datetime) -> bool:
        hour = self.preference.digest_hour if self.preference else 7
        return local_now.hour >= hour


def _recipients() -> list[_Recipient]:
    """Every active member of the bound organisation with the sites they may see: a handful of
    queries per member (site permissions), never per draft."""
    preferences = {p.user_id: p for p in NoticePreference.objects.all()}
    all_sites = set(Site.objects.values_list("pk", flat=True))
    recipients = []
    for membership in Membership.objects.select_related("user").filter(user__is_active=True):
        sites = (
            all_sites
            if membership.sees_all_sites
            else set(visible_sites(membership).values_list("pk", flat=True))
        )
        recipients.append(_Recipient(membership, sites, preferences.get(membership.user_id)))
    return recipients


def notice_drafts(*, organization: Organization, today: date, now: datetime) -> list[NoticeDraft]:
    drafts = []
    for source in notice_sources.providers():
        drafts.extend(source.collect(organization=organization, today=today, now=now))
    return drafts


@transaction.atomic
def notices_generate(*, organization: Organization, now: datetime | None = None) -> list[Notice]:
    """Stores the notices due now for the bound organisation, once each; returns the new ones."""
    tenancy.refuse_another_organization(organization.pk, doing="make another's notices")
    now = now or timezone.now()
    local_now = timezone.localtime(now, organization.zone)
    today = local_now.date()
    drafts = notice_drafts(organization=organization, today=today, now=now)
    recipients = _recipients()
    wanted: dict[tuple[int, str], Notice] = {}
    digests: dict[int, list[dict]] = defaultdict(list)
    for draft in drafts:
        for recipient in recipients:
            if not recipient.may_receive(draft):
                continue
            if draft.kind in _digest_kinds():
                if recipient.digest_due(local_now):
                    digests[recipient.user_id].append(_section(draft))
                continue
            wanted[(recipient.user_id, draft.key)] = Notice(
                organization_id=organization.pk,
                user_id=recipient.user_id,
                kind=draft.kind,
                key=draft.key[:200],
                site_id=draft.site_id,
                title=_clip(draft.title, 200),
                sections=[_section(draft)],
                url=draft.url[:300],
                template=draft.template,
                created_at=now,
                email=Notice.Email.PENDING if recipient.emails(draft.kind) else Notice.Email.OFF,
            )
    by_user = {recipient.user_id: recipient for recipient in recipients}
    for user_id, sections in digests.items():
        key = f"{DIGEST_KIND}:{today.isoformat()}"
        wanted[(user_id, key)] = Notice(
            organization_id=organization.pk,
            user_id=user_id,
            kind=DIGEST_KIND,
            key=key,
            title=f"Your daily digest for {today:%-d %B %Y}",
            sections=sections,
            url="",
            template=DIGEST_TEMPLATE,
            created_at=now,
            email=Notice.Email.PENDING
            if by_user[user_id].emails(DIGEST_KIND)
            else Notice.Email.OFF,
        )
    if not wanted:
        return []
    existing = set(
        Notice.objects.filter(key__in={key for _, key in wanted}).values_list("user_id", "key")
    )
    new = [notice for pair, notice in wanted.items() if pair not in existing]
    # ignore_conflicts: a concurrent run that stored the same (user, key) first wins.
    Notice.objects.bulk_create(new, ignore_conflicts=True)
    _forget_unread(organization.pk, (notice.user_id for notice in new))
    return new


def _digest_kinds() -> set[str]:
    return {
        kind.code for source in notice_sources.providers() for kind in source.kinds if kind.digest
    }


def notice_email_message(*, notice: Notice, organization: Organization) -> EmailMultiAlternatives:
    """The notice as an email: plain text and HTML, from the kind's template pair."""
    context = {
        "notice": notice,
        "organization": organization,
        "sections": notice.sections,
        "site_url": settings.SITE_URL,
        "inbox_url": settings.SITE_URL + org_path(organization, "notice_inbox"),
        "preferences_url": settings.SITE_URL + org_path(organization, "notice_preferences"),
    }
    text = render_to_string(f"{notice.template}.txt", context)
    html = render_to_string(f"{notice.template}.html", context)
    message = EmailMultiAlternatives(
        subject=f"[{organization.name}] {notice.title}",
        body=text,
        to=[notice.user.email],
    )
    message.attach_alternative(html, "text/html")
    return message


def notices_email(*, organization: Organization, now: datetime | None = None) -> dict:
    """Emails the bound organisation's pending notices over one connection. A failure leaves
    the notice pending with its attempt counted and logged (the next beat tick retries); after
    ``MAX_EMAIL_ATTEMPTS`` it is marked failed. Returns the counts."""
    now = now or timezone.now()
    pending = list(
        Notice.objects.filter(email=Notice.Email.PENDING)
        .select_related("user")
        .order_by("created_at", "pk")[:500]
    )
    counts = {"sent": 0, "retry": 0, "failed": 0, "no_address": 0}
    if not pending:
        return counts
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (SMTPException, OSError) as error:
        for notice in pending:
            _email_failed(notice, error, counts)
        return counts
    try:
        for notice in pending:
            if not notice.user.email:
                notice.email = Notice.Email.OFF
                notice.email_error = "The person has no email address."
                notice.save(update_fields=["email", "email_error"])
                counts["no_address"] += 1
                continue
            message = notice_email_message(notice=notice, organization=organization)
            message.connection = connection
            try:
                message.send()
            except (SMTPException, OSError) as error:
                _email_failed(notice, error, counts)
                continue
            notice.email = Notice.Email.SENT
            notice.emailed_at = now
            notice.email_attempts += 1
            notice.email_error = ""
            notice.save(update_fields=["email", "emailed_at", "email_attempts", "email_error"])
            counts["sent"] += 1
    finally:
        with contextlib.suppress(SMTPException, OSError):
            connection.close()
    return counts


def _email_failed(notice: Notice, error: Exception, counts: dict) -> None:
    notice.email_attempts += 1
    notice.email_error = _clip(f"{type(error).__name__}: {error}", 300)
    if notice.email_attempts >= MAX_EMAIL_ATTEMPTS:
        notice.email = Notice.Email.FAILED
        counts["failed"] += 1
        logger.error(
            "Notice %s could not be emailed after %s attempts; it stays in the inbox: %s",
            notice.pk, notice.email_attempts, notice.email_error,
        )  # fmt: skip
    else:
        counts["retry"] += 1
        logger.warning(
            "Notice %s could not be emailed (attempt %s); the next run retries: %s",
            notice.pk, notice.email_attempts, notice.email_error,
        )  # fmt: skip
    notice.save(update_fields=["email", "email_attempts", "email_error"])


# --- reads and a person's own writes (the inbox) ---


def notice_list(*, user, unread_only: bool = False) -> QuerySet[Notice]:
    notices = Notice.objects.filter(user=user).select_related("site")
    return notices.filter(read_at=None) if unread_only else notices


def notice_unread_count(*, user) -> int:
    key = unread_cache_key(tenancy.current_organization_id(), user.pk)
    count = cache.get(key)
    if count is None:
        count = Notice.objects.filter(user=user, read_at=None).count()
        cache.set(key, count, timeout=300)
    return count


def notice_for_user(*, user, pk: int) -> Notice | None:
    """The person's own notice, else None (someone else's is indistinguishable from none)."""
    return Notice.objects.filter(user=user, pk=pk).first()


def notices_mark_read(*, user, pks: Iterable[int] | None = None) -> int:
    """Marks the person's notices read (``pks`` given: those; else all); returns how many."""
    notices = Notice.objects.filter(user=user, read_at=None)
    if pks is not None:
        notices = notices.filter(pk__in=list(pks))
    count = notices.update(read_at=timezone.now())
    _forget_unread(tenancy.current_organization_id(), [user.pk])
    return count


def organization_admin_names() -> list[str]:
    """The bound organisation's org admins, by name: who may set a member's preferences."""
    admins = Membership.objects.filter(role=Role.ORG_ADMIN).select_related("user")
    return sorted(m.user.get_full_name() or m.user.get_username() for m in admins)


def notice_preference_for(*, user) -> NoticePreference:
    return NoticePreference.objects.filter(user=user).first() or NoticePreference(user=user)


def notice_preference_set(
    *, user, email_off: Iterable[str], digest_hour: int | None = None, by=None
) -> NoticePreference:
    """A member's notice preferences, set by themselves or (``by``, e.g. for a commissioner,
    who writes nothing) by an org admin; who set them is kept in the history. Without
    ``digest_hour`` (a role no digest reaches) the hour stays as it was."""
    known = {kind.code for kind in notice_kinds()}
    email_off = sorted(set(email_off))
    unknown = [code for code in email_off if code not in known]
    if unknown:
        raise ValidationError({"email_off": "Choose from the kinds listed."})
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise ValidationError({"digest_hour": "Give an hour from 0 to 23."})
    preference = notice_preference_for(user=user)
    preference.email_off = email_off
    if digest_hour is not None:
        preference.digest_hour = digest_hour
    preference._history_user = by or user
    if by is not None and by != user:
        preference._change_reason = "Set by an org admin"
    preference.save()
    return preference


def seed_demo_notices(context) -> None:
    """Last of the demo: the supervisor's digest made from midnight (so it is in the inbox
    whenever the demo is opened), then every notice due today. Mail is not sent here: the
    beat task sends it (in DEBUG to the console, or where EMAIL_URL says)."""
    for username, user in context.users.items():
        if not user.email:  # demo addresses, so the demo's mail shows where it goes
            user.email = f"{username}@demo.example"
            user.save(update_fields=["email"])
    supervisor = context.users["supervisor"]
    notice_preference_set(user=supervisor, email_off=[], digest_hour=0)
    made = notices_generate(organization=context.organization)
    per_role = defaultdict(int)
    roles = {m.user_id: m.get_role_display() for m in Membership.objects.all()}
    for notice in made:
        per_role[roles.get(notice.user_id, "?")] += 1
    context.say(
        f"{len(made)} notices in inboxes ("
        + ", ".join(f"{role} {count}" for role, count in sorted(per_role.items()))
        + f"); mail goes to {_mail_destination()} when beat sends it"
    )


def _mail_destination() -> str:
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "filebased":
        return f"files in {settings.EMAIL_FILE_PATH}"
    if backend == "console":
        return "the console of the worker (EMAIL_URL=file:///some/folder keeps files)"
    if backend == "smtp":
        return f"the SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return backend
