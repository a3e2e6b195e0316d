"""Reads of the contracts module. A commissioner sees only the contracts that name them, and of
those only the sites they hold ``access_site`` on; every other role sees the contracts covering
any of their sites, narrowed to those sites. Nothing here carries a case ref: payment
statements are counts by band (two aggregate queries per month, whatever the number of cases)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from assurance.contracts.models import (
    Contract,
    ContractSite,
    CorrectiveClause,
    CorrectiveProcess,
    FundedComponent,
    PaymentBand,
    PerformanceTerm,
    ProtectedComponent,
    TermEvaluation,
)
from assurance.services.metrics import month_window
from pathways.models import Case, CaseEvent
from scaling_ops.models import Membership, Role, Site
from scaling_ops.selectors import visible_sites


def _site_ids(membership: Membership):
    return Subquery(visible_sites(membership).values("pk"))


def contracts_for(membership: Membership) -> QuerySet[Contract]:
    contracts = Contract.objects.all()
    if membership.role == Role.COMMISSIONER:
        contracts = contracts.filter(commissioners=membership.user)
    if not membership.sees_all_sites or membership.role == Role.COMMISSIONER:
        covering = ContractSite.objects.filter(
            contract_id=OuterRef("pk"), site_id__in=_site_ids(membership)
        )
        contracts = contracts.filter(Exists(covering))
    return contracts.order_by("reference")


def contract_list(*, membership: Membership, county: str = "", current: str = "", today=None):
    contracts = contracts_for(membership).annotate(
        site_count=Count("sites", distinct=True),
        term_count=Count("terms", distinct=True),
        open_processes=Count(
            "processes",
            filter=Q(processes__status=CorrectiveProcess.Status.OPEN)
            & Q(processes__site_id__in=_site_ids(membership)),
            distinct=True,
        ),
    )
    if county:
        contracts = contracts.filter(county=county)
    if current == "in_force" and today is not None:
        contracts = contracts.filter(period_start__lte=today, period_end__gte=today)
    elif current == "ended" and today is not None:
        contracts = contracts.filter(period_end__lt=today)
    return contracts


def counties(membership: Membership) -> list[str]:
    return sorted(
        set(contracts_for(membership).exclude(county="").values_list("county", flat=True))
    )


def contract_for_member(*, membership: Membership, pk: int) -> Contract | None:
    return contracts_for(membership).filter(pk=pk).prefetch_related("pathways").first()


def contract_sites(*, membership: Membership, contract: Contract) -> list[ContractSite]:
    return list(
        contract.sites.filter(site_id__in=_site_ids(membership))
        .select_related("site")
        .order_by("site__code")
    )


def terms(contract: Contract) -> list[PerformanceTerm]:
    return list(contract.terms.select_related("metric").order_by("clause"))


@dataclass
class EvaluationRow:
    term_id: int
    site_id: int
    month: date
    phase: str
    target: float
    threshold: float
    numerator: float | None
    denominator: float | None
    value: float | None
    status: str
    partial: bool


def evaluations(*, contract: Contract, site_ids: list[int]) -> list[EvaluationRow]:
    """Every month evaluated for the contract's terms at the given sites: one query."""
    return [
        EvaluationRow(*row)
        for row in TermEvaluation.objects.filter(term__contract=contract, site_id__in=site_ids)
        .order_by("term__clause", "site__code", "month")
        .values_list(
            "term_id", "site_id", "month", "phase", "target", "threshold", "numerator",
            "denominator", "value", "status", "partial",
        )
    ]  # fmt: skip


def latest_complete_evaluation_month(*, contract: Contract, site_ids: list[int]) -> date | None:
    """The newest month evaluated after it ended at every covered site: what a contract page
    opens on (a month in progress has no status to show)."""
    running = TermEvaluation.objects.filter(
        term__contract=contract, site_id__in=site_ids, month=OuterRef("month"), partial=True
    )
    return (
        TermEvaluation.objects.filter(term__contract=contract, site_id__in=site_ids)
        .filter(~Exists(running))
        .order_by("-month")
        .values_list("month", flat=True)
        .first()
    )


def evaluation_months(*, contract: Contract, site_ids: list[int]) -> list[date]:
    return list(
        TermEvaluation.objects.filter(term__contract=contract, site_id__in=site_ids)
        .order_by("-month")
        .values_list("month", flat=True)
        .distinct()
    )


# --- payment statements ----------------------------------------------------------------------


@dataclass
class StatementLine:
    site: Site
    band: PaymentBand
    count: int
    amount: Decimal


@dataclass
class Statement:
    month: date
    lines: list[StatementLine] = field(default_factory=list)
    components: list[FundedComponent] = field(default_factory=list)
    partial: bool = False

    @property
    def activity_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def components_total(self) -> Decimal:
        return sum((c.monthly_amount for c in self.components), Decimal("0"))

    @property
    def total(self) -> Decimal:
        return self.activity_total + self.components_total

    def by_site(self) -> list[tuple[Site, list[StatementLine], Decimal]]:
        grouped: dict[int, list[StatementLine]] = defaultdict(list)
        sites = {}
        for line in self.lines:
            grouped[line.site.pk].append(line)
            sites[line.site.pk] = line.site
        return [
            (sites[pk], rows, sum((r.amount for r in rows), Decimal("0")))
            for pk, rows in grouped.items()
        ]


def activity_counts(
    *, contract: Contract, month: date, site_ids: list[int], activities: set[str]
) -> dict[tuple[str, int, str], int]:
    """(activity, site, risk tier at referral) -> cases, for the contract's pathways in the
    organisation-local month; one grouped query per activity kind."""
    start, end = month_window(organization=contract.organization, month=month)
    cases = Case.objects.filter(site_id__in=site_ids, version__pathway__in=contract.pathways.all())
    referred = Q(referral_at__gte=start, referral_at__lt=end)
    counts: dict[tuple[str, int, str], int] = {}
    queries = {}
    if PaymentBand.Activity.REFERRALS in activities:
        queries[PaymentBand.Activity.REFERRALS] = cases.filter(referred)
    if PaymentBand.Activity.ACTIVE_CASES in activities:
        active = CaseEvent.objects.filter(
            case_id=OuterRef("pk"), occurred_at__gte=start, occurred_at__lt=end
        )
        queries[PaymentBand.Activity.ACTIVE_CASES] = cases.filter(
            referred | Q(Exists(active)), referral_at__lt=end
        )
    for activity, queryset in queries.items():
        for site_id, tier, n in (
            queryset.order_by().values("site_id", "risk_tier").annotate(n=Count("id"))
            .values_list("site_id", "risk_tier", "n")
        ):  # fmt: skip
            counts[(activity, site_id, tier)] = n
    return counts


def payment_statement(*, contract: Contract, month: date, sites: list[Site], now=None) -> Statement:
    bands = list(contract.bands.order_by("order", "name"))
    statement = Statement(month=month, components=list(contract.components.order_by("kind")))
    if now is not None:
        _, end = month_window(organization=contract.organization, month=month)
        statement.partial = end > now
    if not bands or not sites:
        return statement
    counts = activity_counts(
        contract=contract,
        month=month,
        site_ids=[s.pk for s in sites],
        activities={b.activity for b in bands},
    )
    for site in sites:
        for band in bands:
            count = sum(
                n
                for (activity, site_id, tier), n in counts.items()
                if activity == band.activity
                and site_id == site.pk
                and (not band.risk_tier or tier == band.risk_tier)
            )
            statement.lines.append(
                StatementLine(site=site, band=band, count=count, amount=band.unit_rate * count)
            )
    return statement


# --- corrective processes ------------------------------------------------------------------


def corrective_processes(
    *, membership: Membership, contract: Contract | None = None, status: str = ""
) -> QuerySet[CorrectiveProcess]:
    processes = CorrectiveProcess.objects.filter(
        contract__in=contracts_for(membership), site_id__in=_site_ids(membership)
    ).select_related("contract", "clause", "term__metric", "site", "owner")
    if contract is not None:
        processes = processes.filter(contract=contract)
    if status:
        processes = processes.filter(status=status)
    return processes.order_by("status", "-triggered_at", "-id")


def corrective_process_for_member(*, membership: Membership, pk: int) -> CorrectiveProcess | None:
    return corrective_processes(membership=membership).filter(pk=pk).first()


# --- history ---------------------------------------------------------------------------------

HISTORY_PARTS = [
    ("Contract", Contract, "id"),
    ("Site and phase", ContractSite, "contract_id"),
    ("Funded component", FundedComponent, "contract_id"),
    ("Protected core", ProtectedComponent, "contract_id"),
    ("Performance term", PerformanceTerm, "contract_id"),
    ("Payment band", PaymentBand, "contract_id"),
    ("Corrective clause", CorrectiveClause, "contract_id"),
    ("Corrective process", CorrectiveProcess, "contract_id"),
]


@dataclass
class HistoryEntry:
    part: str
    when: object
    who: object
    what: str
    kind: str
    record: str


def contract_history(*, contract: Contract, limit: int = 300) -> list[HistoryEntry]:
    """Who changed what and when, across the contract and all its parts (removed ones too)."""
    entries = []
    for label, model, key in HISTORY_PARTS:
        rows = (
            model.history.filter(**{key: contract.pk})
            .select_related("history_user")
            .order_by("-history_date")[:limit]
        )
        for row in rows:
            entries.append(
                HistoryEntry(
                    part=label,
                    when=row.history_date,
                    who=row.history_user,
                    what=row.history_change_reason or "",
                    kind=row.get_history_type_display(),
                    record=_describe(model, row),
                )
            )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def _describe(model, row) -> str:
    if model is ContractSite:
        return f"site #{row.site_id}: mature from {row.mature_from or '—'}"
    if model is PerformanceTerm:
        return (
            f"{row.clause}: implementation {row.implementation_target:g}/"
            f"{row.implementation_threshold:g}, mature {row.mature_target:g}/"
            f"{row.mature_threshold:g}, {row.evaluation_months} month(s)"
        )
    if model is PaymentBand:
        return f"{row.name}: {row.unit_rate} per {row.activity} {row.risk_tier or 'all tiers'}"
    if model is FundedComponent:
        return f"{row.kind}: {row.monthly_amount}/month"
    if model is ProtectedComponent:
        return f"{row.clause}: step {row.step_key}"
    if model is CorrectiveClause:
        return f"{row.clause}: {row.consecutive_breaches} breaches, {row.response_days} days"
    if model is CorrectiveProcess:
        return f"{row.status}, deadline {row.deadline}"
    return f"{row.name}, {row.period_start} to {row.period_end}"


def headline_targets(
    *, membership: Membership, month: date, measures
) -> dict[str, tuple[float, float, str]]:
    """Measure code -> (target, breach threshold, where it comes from) of the contract terms on
    the whole measure evaluated for the month at the member's sites, when those terms agree (one
    query). The headline cards fall back to the organisation's own target when they do not."""
    rows = (
        TermEvaluation.objects.filter(
            month=month,
            term__step="",
            term__metric__code__in=list(measures),
            term__contract__in=contracts_for(membership),
            site_id__in=_site_ids(membership),
        )
        .values_list("term__metric__code", "target", "threshold", "term__contract__name")
        .distinct()
        .order_by("term__metric__code", "term__contract__name")
    )
    found: dict[str, dict] = defaultdict(lambda: {"pairs": set(), "names": []})
    for code, target, threshold, name in rows:
        found[code]["pairs"].add((target, threshold))
        if name not in found[code]["names"]:
            found[code]["names"].append(name)
    return {
        code: (*next(iter(f["pairs"])), "contract target (" + ", ".join(f["names"]) + ")")
        for code, f in found.items()
        if len(f["pairs"]) == 1
    }
