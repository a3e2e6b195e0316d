"""Change proposals: local insight → proposal → pilot at named sites for a period → evaluation
(the pilot pathway's own cases: pilot cases at the pilot sites during the pilot against the same
sites before it and against the sites not piloting, on the affected measures, computed as the
monthly snapshot computes them) → adopted, which imports the changed definition as a new
draft pathway version carrying the rationale, or rejected with the reason kept.

No adoption without an evaluation."""

import math
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from assurance.case_figures import CASE_MEASURES, case_set_month_figures
from assurance.models import AssuranceSettings
from learning import selectors
from learning.models import ChangeProposal
from learning.services.common import next_number, record, required
from pathways.definitions import DefinitionError, parse_definition
from pathways.models import Case
from pathways.selectors.versions import (
    pathway_version_current,
    pathway_version_definition,
    step_names_in_use,
)
from pathways.services.pilots import (
    pathway_pilot_adopt,
    pathway_pilot_end,
    pathway_pilot_start,
    pilot_running_for_version,
)
from pathways.services.versions import pathway_version_import
from pathways.wording import step_name, version_diff
from scaling_ops import tenancy
from scaling_ops.models import Organization, Site

Status = ChangeProposal.Status
# Below this many points either way a pilot's relative change is reported as no clear difference.
CLEAR_DIFFERENCE_POINTS = 2.0
NOT_ON_CASES = "not measured on the pilot's cases"
METHOD = (
    "Difference in differences on the pathway's own cases: (pilot cases at the pilot sites during "
    "the pilot − the same sites' cases of the pathway in as many months before) − (the other "
    "sites' cases of the pathway during − before), each side Σ numerator / Σ denominator of the "
    "monthly snapshot's figures of those cases; 95% Wald interval (the four proportions' "
    "variances added)."
)


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
    codes = ", ".join(sorted(site.code for site in sites))
    # The pilot version: the proposed definition (with the base version's package where the
    # proposal brings none), in use at the pilot sites from the start day's first instant to the
    # end day's last, in the organisation's time zone.
    zone = Organization.objects.get(pk=tenancy.current_organization_id()).zone
    version = pathway_version_import(
        data=_with_package(proposal),
        created_by=by,
        rationale=f"Pilot of change proposal {proposal.reference}: {proposal.title}.\n"
        f"What changes: {proposal.change}\nWhy: {proposal.rationale}",
    )
    pathway_pilot_start(
        version=version,
        sites=sites,
        starts_at=datetime.combine(start, time.min, tzinfo=zone),
        ends_at=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
        by=by,
        reason=f"in pilot for {proposal.reference} at {codes}",
    )
    proposal.pilot_start, proposal.pilot_end = start, end
    proposal.pilot_version = version
    proposal.status = Status.PILOTING
    record(
        proposal,
        by=by,
        reason=f"Pilot at {codes} from {start:%Y-%m-%d} to {end:%Y-%m-%d} "
        f"on {proposal.pathway.slug} v{version.number}",
    )
    proposal.save()
    proposal.pilot_sites.set(sites)
    return proposal


def _with_package(proposal: ChangeProposal) -> dict:
    data = dict(proposal.definition)
    base = proposal.base_version
    if "package" not in data and base is not None and base.package:
        keys = {step["key"] for step in data.get("steps", [])}
        package = dict(base.package)
        package["documentation"] = {
            key: value for key, value in package.get("documentation", {}).items() if key in keys
        }
        data["package"] = package
    return data


def _rate(totals, site_ids, code, step, unit) -> dict:
    num = sum(totals.get((site_id, code, step), [0.0, 0.0])[0] for site_id in site_ids)
    den = sum(totals.get((site_id, code, step), [0.0, 0.0])[1] for site_id in site_ids)
    return {"numerator": num, "denominator": den, "value": selectors.figure(num, den, unit)}


def _change(after: dict, before: dict) -> float | None:
    if after["value"] is None or before["value"] is None:
        return None
    return round(after["value"] - before["value"], 1)


def _totals(figures, codes, steps) -> dict[tuple, list[float]]:
    """(site_id, measure, step) -> [Σ numerator, Σ denominator] over the months, overall segment."""
    rows = figures[
        figures["measure"].isin(list(codes))
        & figures["step"].isin(list(steps))
        & (figures["dimension"] == "all")
        & (figures["segment"] == "all")
    ]
    totals: dict[tuple, list[float]] = {}
    for site_id, code, step, numerator, denominator in zip(
        rows["site_id"], rows["measure"], rows["step"], rows["numerator"], rows["denominator"],
        strict=True,
    ):  # fmt: skip
        entry = totals.setdefault((int(site_id), code, step), [0.0, 0.0])
        entry[0] += float(numerator or 0.0)
        entry[1] += float(denominator or 0.0)
    return totals


def _months_before(during: list[date]) -> list[date]:
    before, month = [], during[0]
    for _ in during:
        month = (month - timedelta(days=1)).replace(day=1)
        before.insert(0, month)
    return before


def proposal_evaluation(*, proposal: ChangeProposal, today: date | None = None) -> dict:
    """What the pilot actually ran, from the pilot pathway's own cases: the pilot cases at the
    pilot sites during the pilot months, against the same sites' cases of the pathway in the
    same number of months before, and against the other sites' cases of the pathway over the
    same months before and during (difference in differences, per targeted measure, with each
    side's numerator and denominator and a Wald 95% interval). Every side's figures are those
    the monthly snapshot computes for the same cases and months
    (``assurance.case_figures``), summed over the months; nothing is read from the stored
    snapshots, which mix every pathway at a site. Measures that belong to a site rather than a
    case (audits, incidents, pressure) are named as not measured on the pilot's cases."""
    today = today or selectors.organization_today()
    organization = Organization.objects.get(pk=tenancy.current_organization_id())
    last = min(proposal.pilot_end, today)
    during = selectors.months_between(proposal.pilot_start, last)
    before = _months_before(during)
    # Seen as on ``today`` (its end), or now if earlier: a month still running counts to date.
    now = min(
        timezone.now(),
        datetime.combine(today + timedelta(days=1), time.min, tzinfo=organization.zone),
    )
    min_denominator = (AssuranceSettings.objects.first() or AssuranceSettings()).min_denominator
    pilot_ids = list(proposal.pilot_sites.values_list("pk", flat=True))
    other_ids = list(Site.objects.exclude(pk__in=pilot_ids).values_list("pk", flat=True))
    info = selectors.measure_info(proposal.measures)
    steps = ("", proposal.step_key) if proposal.step_key else ("",)
    on_cases = [code for code in proposal.measures if code in CASE_MEASURES]
    # The pathway's cases only; at the pilot sites during the pilot, only the pilot version's
    # (cases referred before the pilot keep the version they were pinned to and are left out).
    pathway_cases = Q(version__pathway_id=proposal.pathway_id)
    pilot_version = Q(version_id=proposal.pilot_version_id) if proposal.pilot_version_id else Q()
    during_cases = pathway_cases & (
        Q(site_id__in=pilot_ids) & pilot_version | ~Q(site_id__in=pilot_ids)
    )
    before_cases = pathway_cases
    if proposal.pilot_version_id:
        before_cases &= ~Q(version_id=proposal.pilot_version_id)
    totals_during, totals_before = {}, {}
    if on_cases:
        totals_during = _totals(
            case_set_month_figures(
                organization=organization, months=during, cases=during_cases, now=now
            ),
            on_cases,
            steps,
        )
        totals_before = _totals(
            case_set_month_figures(
                organization=organization, months=before, cases=before_cases, now=now
            ),
            on_cases,
            steps,
        )
    rows = []
    for code in proposal.measures:
        unit, direction = info[code]["unit"], info[code]["direction"]
        if code not in CASE_MEASURES:
            empty = {"numerator": 0.0, "denominator": 0.0, "value": None}
            rows.append(
                {
                    **info[code],
                    "step": "",
                    "pilot_before": empty,
                    "pilot_during": empty,
                    "others_before": empty,
                    "others_during": empty,
                    "pilot_change": None,
                    "others_change": None,
                    "effect": None,
                    "interval": None,
                    "too_little_data": [],
                    "verdict": NOT_ON_CASES,
                }
            )
            continue
        # The step's own figure when the cases have one, else the overall figure.
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
        sides = {
            "pilot sites before": pilot_before,
            "pilot sites during": pilot_during,
            "other sites before": others_before,
            "other sites during": others_during,
        }
        thin = [
            f"{name} ({side['denominator']:g})"
            for name, side in sides.items()
            if unit != "count" and side["denominator"] < min_denominator
        ]
        interval = None if thin or effect is None else _interval(effect, sides.values(), unit)
        if effect is None:
            verdict = "not enough data"
        elif thin:
            verdict = "too little data to judge"
        elif (
            interval is not None
            and interval[0] <= 0 <= interval[1]
            or abs(effect) < CLEAR_DIFFERENCE_POINTS
        ):
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
                "interval": list(interval) if interval else None,
                "too_little_data": thin,
                "verdict": verdict,
            }
        )
    return {
        "basis": "cases",
        "method": METHOD,
        "min_denominator": min_denominator,
        "pilot_cases": _pilot_cases(proposal, pilot_ids, during),
        "before_months": [m.strftime("%Y-%m") for m in before],
        "pilot_months": [m.strftime("%Y-%m") for m in during],
        "pilot_sites": sorted(proposal.pilot_sites.values_list("code", flat=True)),
        "other_sites": sorted(Site.objects.filter(pk__in=other_ids).values_list("code", flat=True)),
        "measures": rows,
        "computed_at": timezone.now().isoformat(),
    }


def _interval(effect: float, sides, unit: str) -> tuple[float, float] | None:
    """95% interval of the difference in differences of four independent proportions (normal
    approximation: the variances of the four rates add), in points."""
    if unit == "count":
        return None
    variance = 0.0
    for side in sides:
        n = side["denominator"]
        p = min(max(side["numerator"] / n, 0.0), 1.0)
        variance += p * (1 - p) / n
    half = 1.96 * math.sqrt(variance) * 100.0
    return (round(effect - half, 1), round(effect + half, 1))


def _pilot_cases(proposal: ChangeProposal, pilot_ids, months) -> dict:
    """How many of the pilot sites' cases of the pathway referred in the pilot months followed
    the pilot version (the evaluation's pilot side counts only those)."""
    if proposal.pilot_version_id is None or not months:
        return {}
    zone = Organization.objects.get(pk=tenancy.current_organization_id()).zone
    start = datetime.combine(months[0], time.min, tzinfo=zone)
    end = datetime.combine(selectors.next_month(months[-1]), time.min, tzinfo=zone)
    counts = Case.objects.filter(
        site_id__in=pilot_ids,
        version__pathway_id=proposal.pathway_id,
        referral_at__gte=start,
        referral_at__lt=end,
    ).aggregate(all=Count("id"), pilot=Count("id", filter=Q(version_id=proposal.pilot_version_id)))
    return {"on_pilot_version": counts["pilot"], "referred": counts["all"]}


def evaluation_summary_text(evaluation: dict) -> str:
    parts = []
    for row in evaluation.get("measures", []):
        name = row["name"] + (f" ({row['step']})" if row["step"] else "")
        if row["verdict"] == NOT_ON_CASES:
            parts.append(f"{name}: a site measure, {NOT_ON_CASES}.")
            continue
        if row["effect"] is None:
            parts.append(f"{name}: not enough data.")
            continue
        if row.get("too_little_data"):
            parts.append(
                f"{name}: too little data to judge (fewer than "
                f"{evaluation.get('min_denominator')} in {', '.join(row['too_little_data'])})."
            )
            continue
        pilot = row["pilot_change"]
        others = row["others_change"]
        others_text = f"{others:+.1f}" if others is not None else "n/a"
        parts.append(
            f"{name}: pilot sites {pilot:+.1f} points, other sites {others_text}; "
            f"relative change {row['effect']:+.1f}"
            + (
                f" (95% interval {row['interval'][0]:+.1f} to {row['interval'][1]:+.1f})"
                if row.get("interval")
                else ""
            )
            + f" ({row['verdict']})."
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
            "No pilot case has a figure on the measures the change targets yet: evaluate once "
            "the pilot sites' cases on the pilot version have obligations due or assessments "
            "recorded."
        )
    proposal.evaluation = evaluation
    proposal.evaluation_summary = (summary or "").strip() or evaluation_summary_text(evaluation)
    proposal.evaluated_at = timezone.now()
    proposal.evaluated_by = by
    proposal.status = Status.EVALUATED
    record(proposal, by=by, reason="Evaluated")
    proposal.save()
    return proposal


def proposal_step_name(proposal: ChangeProposal) -> str:
    """The proposal's step as its definition (else the pathways in use) names it."""
    steps = (proposal.definition or {}).get("steps", [])
    names = {s.get("key"): s.get("name") for s in steps if isinstance(s, dict)}
    return names.get(proposal.step_key) or step_name(proposal.step_key, step_names_in_use())


def version_rationale(proposal: ChangeProposal, reason: str) -> str:
    pilot = ", ".join(selectors.site_names_of(proposal.evaluation.get("pilot_sites", [])))
    return (
        f"Adopted from change proposal {proposal.reference}: {proposal.title}.\n"
        f"What changed ({proposal.get_change_kind_display().lower()}"
        f"{', step ' + proposal_step_name(proposal) if proposal.step_key else ''}): {proposal.change}\n"
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
    pilot = (
        pilot_running_for_version(version=locked.pilot_version) if locked.pilot_version else None
    )
    if pilot is not None:
        # What ran at the pilot sites becomes the network's version.
        version = pathway_pilot_adopt(
            pilot=pilot, by=by, reason=reason, rationale=version_rationale(proposal, reason)
        )
        done = f"Adopted: {proposal.pathway.slug} v{version.number} active network-wide"
    else:
        # Piloted before pilots pinned cases (no pilot version): a draft for an admin to activate.
        version = pathway_version_import(
            data=proposal.definition, created_by=by, rationale=version_rationale(proposal, reason)
        )
        done = f"Adopted as {proposal.pathway.slug} v{version.number} (draft)"
    proposal.adopted_version = version
    proposal.status = Status.ADOPTED
    proposal.decision_reason = reason
    proposal.decided_at = timezone.now()
    proposal.decided_by = by
    record(proposal, by=by, reason=done)
    proposal.save()
    return version


@transaction.atomic
def change_proposal_reject(*, proposal: ChangeProposal, by, reason: str) -> ChangeProposal:
    """Rejects the change with the reason kept; a running pilot ends (its version retires, its
    cases keep it, the pilot sites' new cases follow the network version again)."""
    if proposal.status in (Status.ADOPTED, Status.REJECTED):
        raise ValidationError(
            f"{proposal.reference} is already {proposal.get_status_display().lower()}."
        )
    reason = required(reason, "reason", "why the change is rejected")
    pilot = (
        pilot_running_for_version(version=proposal.pilot_version)
        if proposal.pilot_version
        else None
    )
    if pilot is not None:
        pathway_pilot_end(pilot=pilot, by=by, reason=f"{proposal.reference} rejected: {reason}")
    proposal.decision_reason = reason
    proposal.status = Status.REJECTED
    proposal.decided_at = timezone.now()
    proposal.decided_by = by
    record(proposal, by=by, reason="Rejected")
    proposal.save()
    return proposal
