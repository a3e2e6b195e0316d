"""Site launch readiness: versioned checklist templates whose items are automatic (evaluated live
from data) or attested (evidence, who, when), the go-live gate registered in
``scaling_ops.services.site_transition_guards``, and the go-live / override action."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from pathways.models import PathwayVersion, SiteAdaptation
from scaling_ops.models import PartnerKey, Role, Site
from scaling_ops.services import site_change_status
from scaling_ops.uploads import download_name, upload_check
from workforce.models import (
    CASELOAD_ROLES,
    ChecklistItem,
    ChecklistTemplate,
    LaunchDecision,
    ReadinessAttestation,
    Team,
    TrainingModule,
)
from workforce.services.checks import staff_in_post, valid_completions
from workforce.services.packages import package_acknowledgement_status

Rule = ChecklistItem.Rule
DEFAULT_NAME = "Site launch checklist"
DEFAULT_ITEMS = [
    # key, title, kind, rule, guidance
    ("core-training", Rule.CORE_TRAINING.label, "automatic", Rule.CORE_TRAINING,
     "Every practitioner at the site holds a valid completion of each core module."),
    ("supervisors-named", Rule.SUPERVISOR_NAMED.label, "automatic", Rule.SUPERVISOR_NAMED,
     "The site has teams and each has a supervisor in post."),
    ("partner-key", Rule.PARTNER_KEY.label, "automatic", Rule.PARTNER_KEY,
     "An org admin issues a partner API key that lists the site."),
    ("pathway-active", Rule.PATHWAY_ACTIVE.label, "automatic", Rule.PATHWAY_ACTIVE,
     "The pathways the site's teams deliver have an active version."),
    ("adaptations-approved", Rule.ADAPTATIONS_APPROVED.label, "automatic",
     Rule.ADAPTATIONS_APPROVED, "No proposed site adaptation is waiting for a decision."),
    ("package-acknowledged", Rule.PACKAGE_ACKNOWLEDGED.label, "automatic",
     Rule.PACKAGE_ACKNOWLEDGED, "Each practitioner acknowledges the replication package (role "
     "description, scripts, documentation templates) of the version the site's cases follow, "
     "on their staff page."),
    ("partner-contacts", "Partner contacts established", "attested", "",
     "Name the hospital discharge team, primary care and crisis line contacts and how they "
     "were confirmed."),
    ("tools-configured", "Tools configured", "attested", "",
     "The case record system sends events to the platform; practitioners have logins."),
]  # fmt: skip


@dataclass
class ItemStatus:
    item: ChecklistItem
    passed: bool
    detail: str
    attestation: ReadinessAttestation | None = None

    @property
    def blocking(self) -> bool:
        return self.item.required and not self.passed


@dataclass
class Readiness:
    site: Site
    template: ChecklistTemplate
    items: list[ItemStatus] = field(default_factory=list)

    @property
    def blockers(self) -> list[ItemStatus]:
        return [status for status in self.items if status.blocking]

    @property
    def ordered(self) -> list[ItemStatus]:
        """Blockers first, then the other open items, then what passes."""
        return sorted(self.items, key=lambda s: (not s.blocking, s.passed, s.item.position))

    @property
    def passed_count(self) -> int:
        return sum(1 for status in self.items if status.passed)

    @property
    def percent(self) -> int:
        return round(100 * self.passed_count / len(self.items)) if self.items else 100

    @property
    def ready(self) -> bool:
        return not self.blockers

    def failing_summary(self) -> list[str]:
        return [f"{status.item.title}: {status.detail}" for status in self.blockers]


# --- templates ------------------------------------------------------------------------------


@transaction.atomic
def checklist_template_ensure(*, by=None) -> ChecklistTemplate:
    """The active template; the built-in one becomes version 1 the first time it is needed."""
    active = ChecklistTemplate.objects.filter(status=ChecklistTemplate.Status.ACTIVE).first()
    if active is not None:
        return active
    latest = ChecklistTemplate.objects.order_by("-version").first()
    if latest is not None:
        return checklist_template_activate(template=latest, by=by)
    template = ChecklistTemplate.objects.create(
        name=DEFAULT_NAME, version=1, status=ChecklistTemplate.Status.ACTIVE, created_by=by,
        note="The built-in launch checklist.",
    )  # fmt: skip
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            organization_id=template.organization_id, template=template, key=key, title=title,
            kind=kind, rule=rule, guidance=guidance, position=position,
        )
        for position, (key, title, kind, rule, guidance) in enumerate(DEFAULT_ITEMS)
    )  # fmt: skip
    return template


@transaction.atomic
def checklist_template_new_version(
    *,
    base: ChecklistTemplate,
    by,
    note: str,
    add_items: list[dict] = (),
    remove_keys=(),
    optional_keys=(),
) -> ChecklistTemplate:
    """A new draft version copied from ``base``: items removed, added (attested, or automatic
    with a known rule) or made optional. Versions are never edited once active."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what changes in this version and why."})
    latest = (
        ChecklistTemplate.objects.order_by("-version").values_list("version", flat=True).first()
    )
    template = ChecklistTemplate.objects.create(
        name=base.name, version=(latest or 0) + 1, note=note, created_by=by
    )
    items = [item for item in base.items.all() if item.key not in set(remove_keys)]
    keys = {item.key for item in items}
    rows = []
    for position, item in enumerate(items):
        rows.append(ChecklistItem(
            organization_id=template.organization_id, template=template, key=item.key,
            title=item.title, kind=item.kind, rule=item.rule, guidance=item.guidance,
            required=item.required and item.key not in set(optional_keys), position=position,
        ))  # fmt: skip
    for offset, spec in enumerate(add_items):
        key, title = spec.get("key", "").strip(), spec.get("title", "").strip()
        if not key or not title:
            raise ValidationError({"items": "A new item needs a key and a title."})
        if key in keys:
            raise ValidationError({"items": f"The checklist has an item {key!r} already."})
        rule = spec.get("rule", "")
        if rule and rule not in Rule.values:
            raise ValidationError({"items": f"Unknown automatic rule {rule!r}."})
        keys.add(key)
        rows.append(ChecklistItem(
            organization_id=template.organization_id, template=template, key=key, title=title,
            kind="automatic" if rule else "attested", rule=rule,
            guidance=spec.get("guidance", ""), required=spec.get("required", True),
            position=len(items) + offset,
        ))  # fmt: skip
    ChecklistItem.objects.bulk_create(rows)
    return template


@transaction.atomic
def checklist_template_activate(*, template: ChecklistTemplate, by) -> ChecklistTemplate:
    for active in ChecklistTemplate.objects.filter(status=ChecklistTemplate.Status.ACTIVE).exclude(
        pk=template.pk
    ):
        active.status = ChecklistTemplate.Status.RETIRED
        active._history_user = by
        active.save(update_fields=["status"])
    template.status = ChecklistTemplate.Status.ACTIVE
    template._history_user = by
    template._change_reason = "Activated"
    template.save(update_fields=["status"])
    return template


# --- evaluation -----------------------------------------------------------------------------


def _names(people, limit: int = 4) -> str:
    names = [p if isinstance(p, str) else p.name for p in people]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _core_training(site: Site, today) -> tuple[bool, str]:
    practitioners = list(staff_in_post(today).filter(site=site, role__in=CASELOAD_ROLES))
    if not practitioners:
        return False, "No practitioners are on the site's staff list yet."
    core = list(
        TrainingModule.objects.filter(kind=TrainingModule.Kind.CORE).values_list("pk", flat=True)
    )
    if not core:
        return False, "No core training modules are defined."
    valid = valid_completions(today)
    missing = [p for p in practitioners if not set(core) <= valid[p.pk]]
    if missing:
        return (
            False,
            f"{len(missing)} of {len(practitioners)} still to complete: {_names(missing)}.",
        )
    return True, f"All {len(practitioners)} practitioners hold valid core training."


def _supervisor_named(site: Site, today) -> tuple[bool, str]:
    teams = list(Team.objects.filter(site=site).select_related("supervisor"))
    if not teams:
        return False, "No teams are set up at the site."
    unsupervised = [
        t for t in teams
        if t.supervisor is None or (t.supervisor.left_on and t.supervisor.left_on <= today)
    ]  # fmt: skip
    if unsupervised:
        return False, f"No supervisor named for {_names(unsupervised)}."
    return True, f"All {len(teams)} teams have a supervisor."


def _partner_key(site: Site, today) -> tuple[bool, str]:
    keys = list(PartnerKey.objects.filter(sites=site, revoked_at__isnull=True))
    if not keys:
        return False, "No active partner key lists this site; an org admin issues one."
    return True, f"Active: {_names([k.name for k in keys])}."


def _pathway_active(site: Site, today) -> tuple[bool, str]:
    pathway_ids = set(
        Team.objects.filter(site=site, pathway__isnull=False).values_list("pathway_id", flat=True)
    )
    active = PathwayVersion.objects.filter(status=PathwayVersion.Status.ACTIVE)
    if not pathway_ids:
        if active.exists():
            return True, "An active pathway version is in place."
        return False, "No pathway has an active version."
    covered = set(active.filter(pathway_id__in=pathway_ids).values_list("pathway_id", flat=True))
    if covered != pathway_ids:
        from pathways.models import Pathway

        names = Pathway.objects.filter(pk__in=pathway_ids - covered).values_list("name", flat=True)
        return False, f"No active version of {_names(list(names))}."
    return True, f"Active versions of all {len(pathway_ids)} pathways the teams deliver."


def _adaptations_approved(site: Site, today) -> tuple[bool, str]:
    pending = list(
        SiteAdaptation.objects.filter(site=site, status=SiteAdaptation.Status.PROPOSED).values_list(
            "step_key", flat=True
        )
    )
    if pending:
        return False, f"Waiting for a decision: {_names(pending)}."
    approved = SiteAdaptation.objects.filter(site=site, status=SiteAdaptation.Status.APPROVED)
    return True, f"{approved.count()} approved, none waiting."


def _package_acknowledged(site: Site, today) -> tuple[bool, str]:
    status = package_acknowledgement_status(site=site, today=today)
    return status.passed, status.detail


RULES = {
    Rule.CORE_TRAINING: _core_training,
    Rule.SUPERVISOR_NAMED: _supervisor_named,
    Rule.PARTNER_KEY: _partner_key,
    Rule.PATHWAY_ACTIVE: _pathway_active,
    Rule.ADAPTATIONS_APPROVED: _adaptations_approved,
    Rule.PACKAGE_ACKNOWLEDGED: _package_acknowledged,
}


def current_attestations(site: Site) -> dict[str, ReadinessAttestation]:
    latest = {}
    for row in (
        ReadinessAttestation.objects.filter(site=site, withdrawn_at__isnull=True)
        .select_related("attested_by")
        .order_by("attested_at")
    ):
        latest[row.item_key] = row
    return latest


def readiness_evaluate(*, site: Site, template: ChecklistTemplate | None = None) -> Readiness:
    template = template or checklist_template_ensure()
    today = timezone.localdate(timezone=site.organization.zone)
    attestations = current_attestations(site)
    readiness = Readiness(site=site, template=template)
    for item in template.items.all():
        if item.kind == ChecklistItem.Kind.AUTOMATIC:
            passed, detail = RULES[item.rule](site, today)
            readiness.items.append(ItemStatus(item, passed, detail))
        else:
            attestation = attestations.get(item.key)
            if attestation is None:
                readiness.items.append(ItemStatus(item, False, "Not signed off yet."))
            else:
                who = attestation.attested_by.get_username() if attestation.attested_by else "?"
                readiness.items.append(ItemStatus(
                    item, True, f"Signed off by {who} on {attestation.attested_at:%Y-%m-%d}.",
                    attestation,
                ))  # fmt: skip
    return readiness


def readiness_gate(site: Site, status: str) -> list[str]:
    """Registered in ``site_transition_guards``: a launching site goes live only when every
    required item passes (a paused site resuming is not a launch)."""
    if status != Site.Status.LIVE or site.status != Site.Status.LAUNCHING:
        return []
    return [
        f"Launch readiness — {line}" for line in readiness_evaluate(site=site).failing_summary()
    ]


# --- sign-offs and go-live ------------------------------------------------------------------


def readiness_attest(
    *, site: Site, item_key: str, evidence: str, by, evidence_file=None
) -> ReadinessAttestation:
    template = checklist_template_ensure()
    item = template.items.filter(key=item_key).first()
    if item is None or item.kind != ChecklistItem.Kind.ATTESTED:
        raise ValidationError(
            {"item": "Only attested items of the active checklist are signed off."}
        )
    evidence = (evidence or "").strip()
    if not evidence:
        raise ValidationError({"evidence": "Describe the evidence: what was done, with whom."})
    row = ReadinessAttestation(
        site=site, item_key=item_key, evidence=evidence, attested_by=by,
        attested_at=timezone.now(),
    )  # fmt: skip
    if evidence_file:
        try:
            upload_check(evidence_file)
        except ValidationError as error:
            raise ValidationError({"evidence_file": error.messages}) from None
        # The stored name's extension is then the one that was checked.
        evidence_file.name = row.evidence_file_name = download_name(evidence_file.name)
        row.evidence_file = evidence_file
    row._history_user = by
    row._change_reason = f"Signed off: {item.title}"
    try:
        with transaction.atomic():
            row.save()
    except Exception:
        # The file is written before the row; a row that did not commit leaves no file behind.
        if row.evidence_file and row.evidence_file._committed:
            row.evidence_file.delete(save=False)
        raise
    return row


def readiness_withdraw(*, attestation: ReadinessAttestation, by) -> ReadinessAttestation:
    if attestation.withdrawn_at is None:
        attestation.withdrawn_at = timezone.now()
        attestation.withdrawn_by = by
        attestation._history_user = by
        attestation._change_reason = "Sign-off withdrawn"
        attestation.save(update_fields=["withdrawn_at", "withdrawn_by"])
    return attestation


@transaction.atomic
def site_go_live(*, site: Site, by, role: str, override_reason: str = "") -> LaunchDecision:
    """Moves a launching site to live. Refused, naming the failing items, unless every required
    item passes or an org admin overrides with a reason; the decision is recorded either way."""
    if site.status != Site.Status.LAUNCHING:
        raise ValidationError(f"{site.name} is {site.get_status_display().lower()}; only a "
                              "launching site goes live from its readiness page.")  # fmt: skip
    readiness = readiness_evaluate(site=site)
    failing = readiness.failing_summary()
    override_reason = (override_reason or "").strip()
    if failing and not override_reason:
        raise ValidationError(["Not ready to go live. Still failing:", *failing])
    if failing and role != Role.ORG_ADMIN:
        raise ValidationError("Only an org admin may override launch readiness.")
    if not failing:
        override_reason = ""
    site._history_user = by
    site_change_status(site=site, status=Site.Status.LIVE, override_reason=override_reason)
    return LaunchDecision.objects.create(
        site=site, template=readiness.template, to_status=Site.Status.LIVE, failing_items=failing,
        override_reason=override_reason, by=by, decided_at=timezone.now(),
    )  # fmt: skip
