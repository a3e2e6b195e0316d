"""The monthly assurance snapshot: the one service behind the Celery beat job,
``manage.py compute_assurance`` and the Recompute button.

Only the cases that can land a figure in the month are read (``month_case_ids``, one query: an
obligation due in the month is anchored at most the longest time standard on its anchor before
it, so a case needs its referral, a step's completion or an anchoring event inside that
anchor's reach; figures from events need an assessment or an outcome in the month). They are read in bounded
chunks straight into pandas frames by the engine's one input reader
(``pathways.selectors.obligations``: one query for a chunk's cases, one for their events but
contacts made, which neither the engine nor a measure reads, ``data`` parsed only for the kinds
the engine and the measures read, rows dated outside the plausible window left out and counted
on each site's snapshot). The pathway engine gives their obligations at the cutoff and
``site_month_figures`` turns each chunk into partial sums per site x measure x step x segment:
the one place where a measure computed from a chunk's cases, events and obligations is added.
Audits and incidents are aggregated from their own tables. Each site's case count (cases
referred by the cutoff and not closed before the month with nothing in it) is one grouped
count. The month's figures are then written, in one transaction, as a new revision of every
site's snapshot: older revisions are never touched."""

import logging
import time as monotonic_clock
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing
from datetime import date, datetime, timedelta

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone

from assurance import analysis, measures
from assurance import front_door as front_door_measures
from assurance.extension_points import snapshot_computed
from assurance.models import (
    AssuranceSettings,
    AssuranceSnapshot,
    AuditRecord,
    ComparatorBaseline,
    Incident,
    SnapshotValue,
)
from assurance.services.drift import drift_signals_update
from assurance.services.metrics import (
    COUNT_MEASURES,
    assurance_settings_get,
    metric_definitions_ensure,
    month_window,
)
from assurance.services.pressure import pressure_values_store
from pathways import engine, parallel_chunks
from pathways.definitions import REFERRAL_ANCHOR
from pathways.models import CaseEvent, EventType
from pathways.plausible_time import EARLIEST_PLAUSIBLE, plausible
from pathways.selectors.obligations import (
    CASE_ROW,
    assessment_completions,
    case_chunks,
    case_frames,
    engine_data,
    engine_definitions,
    implausible_counts,
    plausible_cases,
    readable_until,
)
from pathways.wording import implausible_rows_text
from scaling_ops import tenancy
from scaling_ops.models import Organization, Site

CHUNK_SIZE = 5000
BATCH_SIZE = 2000
Progress = Callable[[int, int], None]
logger = logging.getLogger(__name__)
CASE_VALUES = (
    *CASE_ROW,
    "language_need",
    "disability",
    "rurality",
    "housing",
)


def assurance_snapshot_compute(
    *,
    organization: Organization,
    month: date,
    by=None,
    reason: str = "",
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
    now: datetime | None = None,
) -> list[AssuranceSnapshot]:
    """Computes the organisation-local ``month`` and stores it as a new revision of each site's
    snapshot. A month still running is computed to date and marked partial."""
    started = monotonic_clock.monotonic()
    tenancy.refuse_another_organization(
        organization.pk, doing=f"compute organisation {organization.pk}'s assurance"
    )
    month = month.replace(day=1)
    now = now or timezone.now()
    start, end = month_window(organization=organization, month=month)
    if start > now:
        raise ValidationError(f"{month:%Y-%m} has not started yet; nothing to compute.")
    cutoff = min(end, now)
    with tenancy.scope(organization):
        metric_definitions_ensure()
        settings = assurance_settings_get()
        definitions = engine_definitions()
        case_counts = _case_counts(start, end, cutoff, now)
        parts = case_month_parts(
            definitions,
            start=start,
            end=end,
            cutoff=cutoff,
            now=now,
            settings=settings,
            progress=progress,
            chunk_size=chunk_size,
        )
        figures = measures.combine(parts)
        extra = _audit_figures(month) + _incident_figures(start, min(end, cutoff))
        extra += front_door_measures.referral_figures(start=start, end=end, cutoff=cutoff)
        extra += front_door_measures.safeguarding_incident_figures(start, min(end, cutoff))
        if extra:
            figures = pd.concat(
                [figures, pd.DataFrame(extra, columns=measures.FIGURE_COLUMNS)], ignore_index=True
            )
        adjusted = _adjusted_figures(figures)
        skipped = implausible_counts(now=now)
        with transaction.atomic():
            # Serialises computations of one organisation (PostgreSQL row lock; SQLite has one
            # writer and the unique revision constraint refuses a lost race).
            AssuranceSettings.objects.select_for_update().filter(pk=settings.pk).first()
            snapshots = _write(
                month=month,
                figures=figures,
                adjusted=adjusted,
                case_counts=case_counts,
                skipped=skipped,
                settings=settings,
                cutoff=cutoff,
                partial=cutoff < end,
                now=now,
                by=by,
                reason=reason,
                started=started,
            )
            # Stability under pressure (DESIGN.md section 4a): its own module, one call.
            pressure_values_store(organization=organization, month=month, snapshots=snapshots,
                                  figures=figures, settings=settings, cutoff=cutoff, now=now)  # fmt: skip
            drift_signals_update(month=month, snapshots=snapshots, settings=settings, now=now)
        snapshot_computed.send(
            sender=AssuranceSnapshot,
            organization=organization,
            month=month,
            snapshots=snapshots,
            now=now,
        )
    note = implausible_rows_text(
        cases=skipped.total_cases,
        events=skipped.total_events,
        organization_slug=organization.slug,
    )
    if note:
        logger.warning("Assurance snapshot %s of %s: %s", f"{month:%Y-%m}", organization.slug, note)
    return snapshots


def case_month_parts(
    definitions,
    *,
    start,
    end,
    cutoff,
    now,
    settings,
    cases: Q | None = None,
    progress: Progress | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> list[pd.DataFrame]:
    """The partial sums (for ``measures.combine``) of every measure computed from cases, events
    and obligations for the month [start, end) seen at ``cutoff``: the month's cases
    (``month_case_ids``), narrowed to those matching ``cases`` when given, read in chunks through
    the engine's one input reader, their obligations from the engine, and each chunk's figures
    from ``site_month_figures`` and the safeguarding measure. The monthly snapshot calls it for
    every case; a change proposal's evaluation (learning) for a pilot's own cases, so that the
    evaluation's figures are the snapshot's figures of the same cases and months."""
    case_ids = month_case_ids(
        definitions, start=start, end=end, cutoff=cutoff, now=now, cases=cases
    )
    # Chunks evaluated in worker processes would not see rows a caller's transaction wrote.
    in_caller_transaction = connection.in_atomic_block
    total = len(case_ids)
    if progress is not None:
        progress(0, total)
    parts, done = [], 0
    read = plausible_cases(cutoff=cutoff, now=now)
    data_of = month_data(definitions)

    def chunk_parts(rows: list[tuple]) -> list[pd.DataFrame]:
        frames, events = _frames(rows, cutoff, now, data_of)
        obligations = engine.compute_obligations(
            frames[engine.CASE_COLUMNS], events, definitions, cutoff
        )
        return [
            *site_month_figures(
                frames,
                events,
                obligations,
                definitions,
                start=start,
                end=end,
                cutoff=cutoff,
                settings=settings,
            ),
            front_door_measures.safeguarding_figures(
                frames, obligations, definitions, start=start, end=end, cutoff=cutoff
            ),
        ]

    chunks = parallel_chunks.evaluated(
        case_chunks(read, chunk_size=chunk_size, fields=CASE_VALUES, case_ids=case_ids),
        chunk_parts,
        chunk_count=-(-total // chunk_size),
        in_caller_transaction=in_caller_transaction,
    )
    with closing(chunks):  # a failing progress callback stops the workers at once
        for rows, chunk_figures in chunks:
            parts.extend(chunk_figures)
            done += len(rows)
            if progress is not None:
                progress(done, total)
    return parts


def site_month_figures(
    cases, events, obligations, definitions, *, start, end, cutoff, settings
) -> list[pd.DataFrame]:
    """One chunk's partial sums of every measure computed from cases, events and obligations,
    for ``measures.combine`` (chunks hold disjoint cases, so the sums add up): frames in
    ``measures.FIGURE_COLUMNS``, or segment cubes (``measures.CUBE_COLUMNS``) rolled up once.
    ``cases``: the engine's columns, ``site_id`` and the coded attributes; ``events``: those
    cases' events up to the cutoff but contacts made (``MONTH_EVENTS``), ``data`` parsed for
    the kinds ``month_data`` names (None for the others); ``obligations``: the engine's at the
    cutoff. A new measure of this kind appends its part here (and, if it reads another kind of
    event or its data, or cases without an obligation due or such an event in the month, widens
    ``MONTH_EVENTS``, ``month_data`` or ``month_figure_events``)."""
    parts = measures.month_figures(
        cases,
        events,
        obligations,
        definitions,
        start=start,
        end=end,
        cutoff=cutoff,
        adverse_outcomes=settings.adverse_outcomes,
    )
    return parts


# A contact made anchors no obligation and completes none, and no measure counts it: the month
# reads every other kind of event.
MONTH_EVENTS = ~Q(type=EventType.CONTACT_MADE)


def month_data(definitions) -> Q:
    """The events whose ``data`` the month reads: the engine's (assessments, tier changes) and
    outcomes (adverse outcome rate, attribution). The rest are read without it."""
    return engine_data(definitions) | Q(type=EventType.OUTCOME_RECORDED)


def month_figure_events(definitions) -> Q:
    """The events that land a figure of their month by themselves, whatever else the case
    holds: assessments (completeness) and outcomes (adverse outcome rate, attribution). Any
    other event lands one only through an obligation due in the month, whose anchor
    ``anchor_reach`` finds: a contact, a closure, a tier change or another step's completion
    in the month is no reason to read a case."""
    return Q(type=EventType.OUTCOME_RECORDED) | assessment_completions(definitions)


def anchor_reach(definitions) -> dict[tuple[str, str], float]:
    """How long before its due time an obligation can be anchored, per anchor: (event type,
    step key) -> the longest time standard on it in any version, ``("referral", "")`` for the
    referral and ``("step_completed", key)`` for a step's first completion. An escalation rule's
    obligation is anchored by its last missed contact and due the time allowed to escalate
    after it."""
    reach: dict[tuple[str, str], float] = {}

    def widen(anchor: tuple[str, str], hours: float) -> None:
        reach[anchor] = max(reach.get(anchor, 0.0), hours)

    for definition in definitions.values():
        for step in definition.steps:
            for standard in step.time_standards:
                if standard.anchor == REFERRAL_ANCHOR:
                    widen((REFERRAL_ANCHOR, ""), standard.within_hours)
                elif standard.upstream_step is not None:
                    widen((EventType.STEP_COMPLETED, standard.upstream_step), standard.within_hours)
                else:
                    widen((standard.anchor, ""), standard.within_hours)
        for rule in definition.escalation_rules:
            widen((EventType.CONTACT_MISSED, ""), rule.escalate_within_hours)
    return reach


def month_case_ids(definitions, *, start, end, cutoff, now, cases: Q | None = None) -> list[int]:
    """The ids, in order, of the cases that can land a figure in the month [start, end) seen at
    ``cutoff``: referred (plausibly) by the cutoff, and with an event in the month that lands a
    figure by itself (``month_figure_events``), or an anchor of an obligation that can fall due in it (``anchor_reach``):
    a referral, a step's completion or an anchoring event no longer before the month than the
    longest time standard on that anchor. One query; ``cases`` (a condition on ``Case``)
    narrows them in the same query."""
    reach = anchor_reach(definitions)
    anchored = Q(occurred_at__gte=start) & month_figure_events(definitions)
    for (anchor, step_key), hours in reach.items():
        if anchor == REFERRAL_ANCHOR:
            continue
        anchor_events = Q(type=anchor, occurred_at__gte=start - timedelta(hours=hours))
        if step_key:
            anchor_events &= Q(step_key=step_key)
        anchored |= anchor_events
    moved = CaseEvent.objects.filter(
        anchored, case_id=OuterRef("pk"), occurred_at__lt=end, occurred_at__lte=cutoff
    ).filter(plausible("occurred_at", until=readable_until(cutoff=cutoff, now=now)))
    referral_reach = start - timedelta(hours=reach.get((REFERRAL_ANCHOR, ""), 0.0))
    read = plausible_cases(cutoff=cutoff, now=now)
    if cases is not None:
        read = read.filter(cases)
    return list(
        read.filter(Q(referral_at__gte=referral_reach) | Exists(moved))
        .order_by("id")
        .values_list("id", flat=True)
    )


def _case_counts(start, end, cutoff, now) -> dict[int, int]:
    """Cases per site that can have a figure in the month: referred by the cutoff (at a
    plausible time), unless closed before the month began with nothing recorded in it (their
    obligations due in the month are void). One grouped count. Both tests are EXISTS, not IN:
    PostgreSQL hashes the closures once and looks a closed case's month up by (case,
    occurred_at), where ``NOT IN`` a set larger than its work memory (the month's events at
    250,000 cases) is run again for every case: minutes, not half a second."""
    closed_early = CaseEvent.objects.filter(
        case_id=OuterRef("pk"),
        type=EventType.CASE_CLOSED,
        occurred_at__gte=EARLIEST_PLAUSIBLE,
        occurred_at__lt=start,
    )
    active = CaseEvent.objects.filter(
        case_id=OuterRef("pk"), occurred_at__gte=start, occurred_at__lt=end, occurred_at__lte=cutoff
    )
    return dict(
        plausible_cases(cutoff=cutoff, now=now)
        .filter(~Exists(closed_early) | Exists(active))
        .order_by()
        .values("site_id")
        .annotate(count=Count("pk"))
        .values_list("site_id", "count")
    )


def _frames(rows, cutoff, now, data_of) -> tuple[pd.DataFrame, pd.DataFrame]:
    cases, events = case_frames(
        rows, cutoff=cutoff, now=now, data_of=data_of, events_of=MONTH_EVENTS
    )
    extra = pd.DataFrame(
        [row[4:] for row in rows],
        columns=["site_id", "language_need", "disability", "rurality", "housing"],
        dtype="object",
    )
    for column in extra.columns:
        cases[column] = extra[column].to_numpy()
    cases["site_id"] = cases["site_id"].astype("int64")
    return cases, events


def _audit_figures(month: date) -> list[tuple]:
    """Audit score per site: yes answers over yes-or-no answers of the month's audited records."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    rows = AuditRecord.objects.filter(sample__month=month, audited_at__isnull=False).values_list(
        "sample__site_id", *AuditRecord.QUESTIONS
    )
    for site_id, *answers in rows:
        counted = [a for a in answers if a in (AuditRecord.Answer.YES, AuditRecord.Answer.NO)]
        totals[site_id][0] += sum(a == AuditRecord.Answer.YES for a in counted)
        totals[site_id][1] += len(counted)
    return [
        (site_id, "audit_score", "", "all", "all", yes, answered)
        for site_id, (yes, answered) in totals.items()
        if answered
    ]


def _incident_figures(start, until) -> list[tuple]:
    """Incident and near-miss counts per site, overall and by failed step, by severity."""
    counts: dict[tuple, int] = defaultdict(int)
    rows = Incident.objects.filter(occurred_at__gte=start, occurred_at__lt=until).values_list(
        "site_id", "kind", "severity", "failed_steps"
    )
    for site_id, kind, severity, steps in rows:
        measure = "incidents" if kind == Incident.Kind.INCIDENT else "near_misses"
        for step in ["", *(steps or [])]:
            counts[(site_id, measure, step, "all", "all")] += 1
            counts[(site_id, measure, step, "severity", severity)] += 1
    return [(*key, count, None) for key, count in counts.items()]


def _adjusted_figures(figures: pd.DataFrame) -> list[dict]:
    """Each site's adverse outcome rate standardised to each active comparator baseline that
    applies to it (the site's own, or one for every site)."""
    tiers = figures[
        (figures["measure"] == "adverse_outcome_rate")
        & (figures["dimension"] == "risk_tier")
        & (figures["step"] == "")
    ]
    if tiers.empty:
        return []
    baselines = list(
        ComparatorBaseline.objects.filter(active=True, measure="adverse_outcome_rate")
        .prefetch_related("rates")
        .order_by("name")
    )
    result = []
    for site_id, group in tiers.groupby("site_id"):
        site_rates = {
            row.segment: (float(row.numerator), float(row.denominator))
            for row in group.itertuples()
        }
        cases = sum(den for _, den in site_rates.values())
        for baseline in baselines:
            if baseline.site_id not in (None, site_id):
                continue
            reference = {r.risk_tier: (r.rate, r.population) for r in baseline.rates.all()}
            standardised = analysis.direct_standardise(site_rates, reference)
            if standardised.rate is None:
                continue
            result.append(
                {
                    "site_id": site_id,
                    "segment": baseline.name,
                    "denominator": cases,
                    "value": standardised.rate,
                    "detail": {
                        "baseline_id": baseline.pk,
                        "kind": baseline.kind,
                        "baseline_rate": standardised.baseline_rate,
                        "ratio": standardised.ratio,
                        "weights": standardised.weights,
                        "missing_tiers": list(standardised.missing_tiers),
                        "site_tiers": {t: list(v) for t, v in site_rates.items()},
                    },
                }
            )
    return result


def _value(measure: str, numerator, denominator) -> float | None:
    return analysis.measure_value(numerator, denominator, count=measure in COUNT_MEASURES)


def _write(
    *,
    month,
    figures,
    adjusted,
    case_counts,
    skipped,
    settings,
    cutoff,
    partial,
    now,
    by,
    reason,
    started,
) -> list[AssuranceSnapshot]:
    site_ids = (
        set(case_counts) | set(figures["site_id"].astype(int)) | {a["site_id"] for a in adjusted}
    )
    sites = {site.pk: site for site in Site.objects.filter(pk__in=site_ids)}
    latest = dict(
        AssuranceSnapshot.objects.filter(month=month, site_id__in=sites)
        .values("site_id")
        .annotate(last=Max("revision"))
        .values_list("site_id", "last")
    )
    parameters = {
        "equity_margin": settings.equity_margin,
        "equity_widening_months": settings.equity_widening_months,
        "drift_margin": settings.drift_margin,
        "min_denominator": settings.min_denominator,
        "adverse_outcomes": list(settings.adverse_outcomes),
        "segmentation": "risk tier at referral; coded case attributes",
    }
    duration = int((monotonic_clock.monotonic() - started) * 1000)
    snapshots = {
        site_id: AssuranceSnapshot(
            site=site,
            month=month,
            revision=latest.get(site_id, 0) + 1,
            computed_at=now,
            computed_by=by,
            cutoff=cutoff,
            partial=partial,
            reason=reason[:200],
            case_count=case_counts.get(site_id, 0),
            implausible_cases=skipped.cases.get(site_id, 0),
            implausible_events=skipped.events.get(site_id, 0),
            duration_ms=duration,
            parameters=parameters,
        )
        for site_id, site in sorted(sites.items(), key=lambda pair: pair[1].code)
    }
    for snapshot in snapshots.values():
        snapshot.save()
    values = [
        SnapshotValue(
            snapshot=snapshots[int(row.site_id)],
            measure=row.measure,
            step=row.step,
            dimension=row.dimension,
            segment=str(row.segment),
            numerator=float(row.numerator),
            denominator=None if pd.isna(row.denominator) else float(row.denominator),
            value=_value(
                row.measure, row.numerator, None if pd.isna(row.denominator) else row.denominator
            ),
        )
        for row in figures.itertuples(index=False)
    ]
    values += [
        SnapshotValue(
            snapshot=snapshots[item["site_id"]],
            measure="adverse_outcome_rate_adjusted",
            step="",
            dimension="baseline",
            segment=item["segment"],
            numerator=None,
            denominator=item["denominator"],
            value=item["value"],
            detail=item["detail"],
        )
        for item in adjusted
    ]
    for value in values:
        value.organization_id = value.snapshot.organization_id
    SnapshotValue.objects.bulk_create(values, batch_size=BATCH_SIZE)
    return list(snapshots.values())
