"""Assurance's notice sources: corrective processes due within 3 days or overdue, and re-audit
windows opening after a drift signal."""

from datetime import date, datetime, timedelta

from assurance import selectors
from assurance.contracts.models import CorrectiveProcess
from assurance.models import DriftSignal
from scaling_ops.links import org_path
from scaling_ops.models import Organization, Role
from scaling_ops.notifications import NoticeDraft, NoticeKind, NoticeSource

DUE_SOON_DAYS = 3
# A re-audit window is announced this many days before it opens (and while it is open).
REAUDIT_NOTICE_DAYS = 3
# Parties to a contract: the commissioner of the site is told too (no case details here).
CONTRACT_ROLES = (Role.IMPLEMENTATION_LEAD, Role.COMMISSIONER)
REAUDIT_ROLES = (Role.IMPLEMENTATION_LEAD, Role.SUPERVISOR, Role.COMMISSIONER)


def _when(deadline: date, today: date) -> tuple[bool, str]:
    days = (deadline - today).days
    if days < 0:
        return True, f"{-days} day{'s' if days != -1 else ''} past its deadline"
    return False, "due today" if days == 0 else f"due in {days} day{'s' if days != 1 else ''}"


def corrective_process_drafts(
    *, organization: Organization, today: date, now: datetime
) -> list[NoticeDraft]:
    processes = CorrectiveProcess.objects.filter(
        status=CorrectiveProcess.Status.OPEN,
        deadline__lte=today + timedelta(days=DUE_SOON_DAYS),
    ).select_related("contract", "clause", "term__metric", "site")
    drafts = []
    for process in processes:
        overdue, when = _when(process.deadline, today)
        kind = "corrective_process_overdue" if overdue else "corrective_process_due"
        drafts.append(
            NoticeDraft(
                kind=kind,
                key=f"corrective_process:{process.pk}:{'overdue' if overdue else 'due'}:"
                f"{process.deadline.isoformat()}",
                title=f"Joint improvement at {process.site.name} {when}",
                lines=[
                    f"Contract {process.contract.reference}, clause {process.clause.clause}: "
                    f"{process.term.metric.name} at {process.site.name}.",
                    f"Deadline {process.deadline:%-d %B %Y} ({when}).",
                ],
                url=org_path(organization, "contract_process_detail", pk=process.pk),
                template=f"assurance/notices/{kind}",
                site_id=process.site_id,
                roles=CONTRACT_ROLES,
                user_ids=[process.owner_id] if process.owner_id else [],
            )
        )
    return drafts


def reaudit_window_drafts(
    *, organization: Organization, today: date, now: datetime
) -> list[NoticeDraft]:
    signals = (
        DriftSignal.objects.exclude(status=DriftSignal.Status.WITHDRAWN)
        .filter(
            reaudit_from__lte=today + timedelta(days=REAUDIT_NOTICE_DAYS),
            reaudit_until__gte=today,
        )
        .select_related("site")
    )
    definitions = selectors.metric_definitions()
    drafts = []
    for signal in signals:
        measure = (
            definitions[signal.measure].name if signal.measure in definitions else signal.measure
        )
        opens = "opens today" if signal.reaudit_from == today else (
            f"opens on {signal.reaudit_from:%-d %B}" if signal.reaudit_from > today
            else f"open since {signal.reaudit_from:%-d %B}"
        )  # fmt: skip
        drafts.append(
            NoticeDraft(
                kind="reaudit_window_opening",
                key=f"reaudit_window:{signal.pk}:{signal.reaudit_from.isoformat()}",
                title=f"Re-audit window at {signal.site.name} {opens}",
                lines=[
                    f"{measure} at {signal.site.name} drifted in {signal.month:%B %Y} "
                    f"({signal.value:.0f}% against {signal.reference:.0f}%, "
                    f"{signal.get_basis_display().lower()}).",
                    f"Re-audit window {signal.reaudit_from:%-d %B} to {signal.reaudit_until:%-d %B %Y}.",
                ],
                url=org_path(organization, "assurance_drift_detail", pk=signal.pk),
                template="assurance/notices/reaudit_window_opening",
                site_id=signal.site_id,
                roles=REAUDIT_ROLES,
            )
        )
    return drafts


def assurance_drafts(*, organization: Organization, today: date, now: datetime):
    return [
        *corrective_process_drafts(organization=organization, today=today, now=now),
        *reaudit_window_drafts(organization=organization, today=today, now=now),
    ]


source = NoticeSource(
    name="assurance",
    kinds=(
        NoticeKind(
            "corrective_process_due",
            "Joint improvement process due within 3 days",
            roles=CONTRACT_ROLES,
        ),
        NoticeKind(
            "corrective_process_overdue", "Joint improvement process overdue", roles=CONTRACT_ROLES
        ),
        NoticeKind("reaudit_window_opening", "Re-audit window opening", roles=REAUDIT_ROLES),
    ),
    collect=assurance_drafts,
)
