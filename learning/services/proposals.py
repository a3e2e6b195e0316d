"""Change proposals: local insight → proposal → pilot at named sites for a period → evaluation
(pilot sites before and during the pilot, against the sites not piloting, on the affected
measures, from the assurance snapshots) → adopted, which imports the changed definition as a new
draft pathway version carrying the rationale, or rejected with the reason kept.

No adoption without an evaluation."""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from learning import selectors
from learning.models import ChangeProposal
from learning.services.common import next_number, record, required
from pathways.definitions import DefinitionError, parse_definition
from pathways.selectors.versions import pathway_version_current, pathway_version_definition
from pathways.services.versions import pathway_version_import
from pathways.wording import version_diff
from scaling_ops.models import Site

Status = ChangeProposal.Status
# Below this many points either way a pilot's relative change is reported as no clear difference.
CLEAR_DIFFERENCE_POINTS = 2.0


def _check_definition(pathway, definition: dict):
    try:
        parsed = parse_definition(definition)
    except DefinitionError as error:
        raise ValidationError(
            {"definition": [f"{path}: {message}" for path, message in error.errors]}
        ) from None
    if parsed.slug != pathway.slug:
        raise ValidationError({"definition": f"The definition's slug must stay {pathway.slug!r}."})
    return parsed


def proposal_changes(proposal: ChangeProposal):
    """What the proposed definition changes against the version it was based on."""
    if proposal.base_version is None:
        return []
    return version_diff(
        pathway_version_definition(proposal.base_version), parse_definition(proposal.definition)
    )


@transaction.atomic
def change_proposal_create(
    *,
    pathway,
    title: str,
    change_kind: str,
    change: str,
    rationale: str,
    by=None,
    definition: dict | None = None,
    step_key: str = "",
    evidence: str = "",
    measures: list[str] = (),
    origin_site: Site | None = None,
) -> ChangeProposal:
    base = pathway_version_current(pathway=pathway)
    if base is None:
        raise ValidationError(f"{pathway.name} has no version to change.")
    if change_kind not in ChangeProposal.ChangeKind.values:
        raise ValidationError({"change_kind": "Choose what kind of thing changes."})
    if definition is None:
        definition = pathway_version_definition(base).to_dict()
    parsed = _check_definition(pathway, definition)
    if step_key and parsed.step(step_key) is None and base.steps.filter(key=step_key).count() == 0:
        raise ValidationError({"step_key": f"{pathway.name} has no step {step_key!r}."})
    proposal = ChangeProposal(
        number=next_number(ChangeProposal),
        title=required(title, "title", "a title")[:200],
        pathway=pathway,
        base_version=base,
        change_kind=change_kind,
        step_key=step_key,
        change=required(change, "change", "what changes"),
        rationale=required(rationale, "rationale", "why the change is needed"),
        evidence=(evidence or "").strip(),
        origin_site=origin_site,
        definition=parsed.to_dict(),
        measures=list(measures),
        proposed_by=by,
    )
    record(proposal, by=by, reason=f"Proposed against v{base.number}")
    proposal.save()
    return proposal


@transaction.atomic
def change_proposal_start_pilot(
    *, proposal: ChangeProposal, by, sites, start: date, end: date
) -> ChangeProposal:
    if proposal.status != Status.PROPOSED:
        raise ValidationError(
            f"{proposal.reference} is {proposal.get_status_display().lower()}; only a proposed "
            "change can start a pilot."
        )
    sites = list(sites)
    errors = {}
    if not sites:
        errors["sites"] = "Name the sites that pilot the change."
    if not start or not end or end < start:
        errors["end"] = "The pilot must end on or after the day it starts."
    if not proposal.measures:
        errors["measures"] = "Choose the measures the change should move before piloting."
    if errors:
        raise ValidationError(errors)
    proposal.pilot_start, proposal.pilot_end = start, end
    proposal.status = Status.PILOTING
    codes = ", ".join(sorted(site.code for site in sites))
    record(proposal, by=by, reason=f"Pilot at {codes} from {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    proposal.save()
    proposal.pilot_sites.set(sites)
    return proposal


def _rate(totals, site_ids, code, step, unit) -> dict:
    num = sum(totals.get((site_id, code, step), [0.0, 0.0])[0] for site_id in site_ids)
    den = sum(totals.get((site_id, code, step), [0.0, 0.0])[1] for site_id in site_ids)
    return {"numerator": num, "denominator": den, "value": selectors.figure(num, den, unit)}


def _change(after: dict, before: dict) -> float | None:
    if after["value"] is None or before["value"] is None:
        return None
    return round(after["value"] - before["value"], 1)


def proposal_evaluation(*, proposal: ChangeProposal, today: date | None = None) -> dict:
    """Pilot sites during the pilot against the same number of months before it, and the other
    sites over the same months: the pilot's change beyond the others' (difference in
    differences), per affected measure. Reads current snapshot revisions only."""
    today = today or selectors.organization_today()
    last = min(proposal.pilot_end, today)
    during = selectors.months_between(proposal.pilot_start, last)
    first = during[0]
    before = []
    month = first
    for _ in during:
        month = (month - timedelta(days=1)).replace(day=1)
        before.insert(0, month)
    pilot_ids = list(proposal.pilot_sites.values_list("pk", flat=True))
    other_ids = list(Site.objects.exclude(pk__in=pilot_ids).values_list("pk", flat=True))
    info = selectors.measure_info(proposal.measures)
    steps = ("", proposal.step_key) if proposal.step_key else ("",)
    totals_during = selectors.measure_totals(
        site_ids=pilot_ids + other_ids, months=during, measures=proposal.measures, steps=steps
    )
    totals_before = selectors.measure_totals(
        site_ids=pilot_ids + other_ids, months=before, measures=proposal.measures, steps=steps
    )
    rows = []
    for code in proposal.measures:
        unit, direction = info[code]["unit"], info[code]["direction"]
        # The step's own figure when the snapshots carry one, else the overall figure.
        step = ""
        if proposal.step_key and any(
            key[1] == code and key[2] == proposal.step_key
            for key in (*totals_during, *totals_before)
        ):
            step = proposal.step_key
        pilot_before = _rate(totals_before, pilot_ids, code, step, unit)
        pilot_during = _rate(totals_during, pilot_ids, code, step, unit)
        others_before = _rate(totals_before, other_ids, code, step, unit)
        others_during = _rate(totals_during, other_ids, code, step, unit)
        pilot_change = _change(pilot_during, pilot_before)
        others_change = _change(others_during, others_before)
        effect = (
            round(pilot_change - others_change, 1)
            if pilot_change is not None and others_change is not None
            else pilot_change
        )
        if effect is None:
            verdict = "not enough data"
        elif abs(effect) < CLEAR_DIFFERENCE_POINTS:
            verdict = "no clear difference"
        else:
            better = effect > 0 if direction == "higher_is_better" else effect < 0
            verdict = "improved" if better else "worsened"
        rows.append(
            {
                **info[code],
                "step": step,
                "pilot_before": pilot_before,
                "pilot_during": pilot_during,
                "others_before": others_before,
                "others_during": others_during,
                "pilot_change": pilot_change,
                "others_change": others_change,
                "effect": effect,
                "verdict": verdict,
            }
        )
    return {
        "before_months": [m.strftime("%Y-%m") for m in before],
        "pilot_months": [m.strftime("%Y-%m") for m in during],
        "pilot_sites": sorted(proposal.pilot_sites.values_list("code", flat=True)),
        "other_sites": sorted(Site.objects.filter(pk__in=other_ids).values_list("code", flat=True)),
        "measures": rows,
        "computed_at": timezone.now().isoformat(),
    }


def evaluation_summary_text(evaluation: dict) -> str:
    parts = []
    for row in evaluation.get("measures", []):
        name = row["name"] + (f" ({row['step']})" if row["step"] else "")
        if row["effect"] is None:
            parts.append(f"{name}: not enough data.")
            continue
        pilot = row["pilot_change"]
        others = row["others_change"]
        others_text = f"{others:+.1f}" if others is not None else "n/a"
        parts.append(
            f"{name}: pilot sites {pilot:+.1f} points, other sites {others_text}; "
            f"relative change {row['effect']:+.1f} ({row['verdict']})."
        )
    return " ".join(parts)


@transaction.atomic
def change_proposal_evaluate(
    *, proposal: ChangeProposal, by, summary: str = "", today: date | None = None
) -> ChangeProposal:
    if proposal.status not in (Status.PILOTING, Status.EVALUATED):
        raise ValidationError(
            f"{proposal.reference} is {proposal.get_status_display().lower()}; a change is "
            "evaluated after its pilot has started."
        )
    today = today or selectors.organization_today()
    if proposal.pilot_start > today:
        raise ValidationError(
            f"The pilot starts on {proposal.pilot_start:%Y-%m-%d}; evaluate it after."
        )
    evaluation = proposal_evaluation(proposal=proposal, today=today)
    if not any(row["pilot_during"]["denominator"] or row["pilot_during"]["numerator"]
               for row in evaluation["measures"]):  # fmt: skip
        raise ValidationError(
            "No assurance snapshot covers the pilot sites during the pilot yet: compute the "
            "monthly snapshots for those months, then evaluate."
        )
    proposal.evaluation = evaluation
    proposal.evaluation_summary = (summary or "").strip() or evaluation_summary_text(evaluation)
    proposal.evaluated_at = timezone.now()
    proposal.evaluated_by = by
    proposal.status = Status.EVALUATED
    record(proposal, by=by, reason="Evaluated")
    proposal.save()
    return proposal


def version_rationale(proposal: ChangeProposal, reason: str) -> str:
    pilot = ", ".join(proposal.evaluation.get("pilot_sites", []))
    return (
        f"Adopted from change proposal {proposal.reference}: {proposal.title}.\n"
        f"What changed ({proposal.get_change_kind_display().lower()}"
        f"{', step ' + proposal.step_key if proposal.step_key else ''}): {proposal.change}\n"
        f"Why: {proposal.rationale}\n"
        + (f"Evidence: {proposal.evidence}\n" if proposal.evidence else "")
        + f"Pilot: {pilot} from {proposal.pilot_start:%Y-%m-%d} to {proposal.pilot_end:%Y-%m-%d}.\n"
        f"Evaluation: {proposal.evaluation_summary}\n"
        f"Decision: {reason}"
    )


@transaction.atomic
def change_proposal_adopt(*, proposal: ChangeProposal, by, reason: str):
    """Imports the changed definition as a new draft version of the pathway with the rationale
    attached (an org admin activates it on the version page)."""
    locked = ChangeProposal.objects.select_for_update().get(pk=proposal.pk)
    if locked.status != Status.EVALUATED or not locked.evaluation:
        raise ValidationError(
            f"{proposal.reference} has no evaluation: pilot it at named sites and evaluate the "
            "pilot against the other sites before adopting it."
        )
    reason = required(reason, "reason", "why the change is adopted")
    version = pathway_version_import(
        data=proposal.definition, created_by=by, rationale=version_rationale(proposal, reason)
    )
    proposal.adopted_version = version
    proposal.status = Status.ADOPTED
    proposal.decision_reason = reason
    proposal.decided_at = timezone.now()
    proposal.decided_by = by
    record(proposal, by=by, reason=f"Adopted as {proposal.pathway.slug} v{version.number} (draft)")
    proposal.save()
    return version


def change_proposal_reject(*, proposal: ChangeProposal, by, reason: str) -> ChangeProposal:
    if proposal.status in (Status.ADOPTED, Status.REJECTED):
        raise ValidationError(
            f"{proposal.reference} is already {proposal.get_status_display().lower()}."
        )
    proposal.decision_reason = required(reason, "reason", "why the change is rejected")
    proposal.status = Status.REJECTED
    proposal.decided_at = timezone.now()
    proposal.decided_by = by
    record(proposal, by=by, reason="Rejected")
    proposal.save()
    return proposal
