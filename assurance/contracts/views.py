"""Contract pages under /o/<org>/contracts/. Everyone in scope reads (commissioners only the
contracts that name them, for the sites they hold); org admins and implementation leads create
and edit contracts and their parts; supervisors and leads work the corrective processes."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from assurance import reports
from assurance import selectors as assurance_selectors
from assurance.contracts import charts, selectors, services
from assurance.contracts.forms import (
    PART_FORMS,
    PART_LABELS,
    ContractFilter,
    ContractForm,
    CorrectiveProcessForm,
)
from assurance.contracts.models import CorrectiveProcess, Phase, TermEvaluation
from assurance.services import improvement_action_providers, improvement_action_raise
from assurance.stability_report import evidence_day, evidence_table, workforce_evidence_report
from assurance.views.common import LEADS, chosen_month, fmt, page_of, this_month
from pathways.disclosure import each_for_member, for_member, history_for_member
from pathways.selectors.versions import step_names_in_use
from pathways.wording import step_name
from scaling_ops.access import ALL_ROLES, WRITE_ROLES, roles_required
from scaling_ops.views_common import add_form_errors, csv_response, person_name

contract_read = roles_required(*LEADS, read_roles=ALL_ROLES)
lead_only = roles_required(*LEADS, read_roles=LEADS)
process_access = roles_required(*WRITE_ROLES, read_roles=ALL_ROLES)

# The CSVs say what the pages say: measure, step and site names, not keys.
TERM_COLUMNS = [
    "Contract", "Clause", "Measure", "Step", "Site", "Month", "Phase", "Target", "Breach threshold",
    "Numerator", "Denominator", "Value", "Status", "Partial",
]  # fmt: skip
STATEMENT_COLUMNS = [
    "Contract", "Month", "Site", "Band", "Activity", "Risk tier", "Count", "Unit rate", "Amount",
]  # fmt: skip
PROCESS_COLUMNS = [
    "Contract", "Clause", "Measure", "Site", "Month that triggered it", "Trigger", "Owner",
    "Deadline", "Status", "Improvement action",
]  # fmt: skip
PHASE_LABELS = dict(Phase.choices)


def _contract(request, pk):
    contract = selectors.contract_for_member(membership=request.membership, pk=pk)
    if contract is None:
        raise Http404("No such contract.")
    return contract


@contract_read
def contract_list(request, org):
    today = timezone.localdate(timezone=request.organization.zone)
    form = ContractFilter(request.GET, counties=selectors.counties(request.membership))
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    contracts = selectors.contract_list(
        membership=request.membership,
        county=data.get("county", ""),
        current=data.get("current", ""),
        today=today,
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            "contracts.csv",
            ["Reference", "Contract", "Commissioner", "County", "Period start", "Period end",
             "Sites", "Terms", "Open corrective processes"],
            (
                [c.reference, c.name, c.commissioner_name, c.county, c.period_start,
                 c.period_end, c.site_count, c.term_count, c.open_processes]
                for c in contracts
            ),
        )  # fmt: skip
    page, query = page_of(request, contracts)
    return render(
        request,
        "assurance/contracts/list.html",
        {"form": form, "page": page, "query": query, "today": today},
    )


def _chosen_month(request, contract, site_ids, months):
    complete = selectors.latest_complete_evaluation_month(contract=contract, site_ids=site_ids)
    # Without a complete month yet, the newest month (in progress) rather than the
    # organisation-wide default, which may be a month this contract never evaluated.
    return chosen_month(request, months, complete=complete or (months[0] if months else None))


@contract_read
def contract_detail(request, org, pk):
    contract = _contract(request, pk)
    covered = selectors.contract_sites(membership=request.membership, contract=contract)
    sites = [cs.site for cs in covered]
    site_ids = [s.pk for s in sites]
    months = selectors.evaluation_months(contract=contract, site_ids=site_ids)
    month, month_error = _chosen_month(request, contract, site_ids, months)
    month = month or this_month(request)
    terms = selectors.terms(contract)
    rows = selectors.evaluations(contract=contract, site_ids=site_ids)
    partial = _partial_months(request, site_ids, rows)
    chart_list = [
        charts.term_chart(
            f"term-{term.pk}", term, sites, [r for r in rows if r.term_id == term.pk], partial
        )
        for term in terms
    ]
    chart_list = [c for c in chart_list if c.spec.get("data")]
    site_names = {s.pk: s for s in sites}
    current = [
        (term, site_names[r.site_id], r)
        for term in terms
        for r in rows
        if r.term_id == term.pk and r.month == month
    ]
    statement = selectors.payment_statement(
        contract=contract, month=month, sites=sites, now=timezone.now()
    )
    processes = list(
        selectors.corrective_processes(membership=request.membership, contract=contract)
    )
    phases = [(cs, cs.phase_for(month)) for cs in covered]
    components = list(contract.components.order_by("kind"))
    bands = list(contract.bands.order_by("order", "name"))
    clauses = list(contract.clauses.select_related("term__metric", "owner"))
    # One batch, so the case refs of all their text are looked up once.
    for_member(
        [*processes, *components, *bands, *clauses,
         *(line.band for line in statement.lines), *statement.components],
        request.membership,
    )  # fmt: skip
    return render(
        request,
        "assurance/contracts/detail.html",
        {
            "contract": contract,
            "covered": phases,
            "months": months,
            "month": month,
            "partial_months": partial,
            "month_error": month_error,
            "terms": terms,
            "current": current,
            "charts": chart_list,
            "statement": statement,
            "open_processes": [p for p in processes if p.status == CorrectiveProcess.Status.OPEN],
            "closed_processes": [p for p in processes if p.status != CorrectiveProcess.Status.OPEN],
            "components": components,
            "protected": list(contract.protected.select_related("pathway").order_by("clause")),
            "bands": bands,
            "clauses": clauses,
            "is_lead": request.membership.role in LEADS,
            "mature": Phase.MATURE,
            "status_labels": dict(TermEvaluation.Status.choices),
            "evaluated_at": _evaluated_at(contract, site_ids, month),
            **_workforce_evidence(request, month, site_ids),
        },
    )


def _workforce_evidence(request, month, site_ids) -> dict:
    """The covered sites' workforce evidence at the month's end (aggregates only)."""
    day = evidence_day(membership=request.membership, month=month)
    evidence = workforce_evidence_report(membership=request.membership, day=day, site_ids=site_ids)
    return {"evidence": evidence, "evidence_rows": evidence_table(evidence), "day": day}


def _partial_months(request, site_ids, rows):
    """Month -> the day its figures run to (None when only the calendar says it is running),
    for each month evaluated while in progress."""
    running = {r.month for r in rows if r.partial}
    found = assurance_selectors.partial_months(
        site_ids=site_ids, zone=request.organization.zone, months=running
    )
    return {m: found.get(m) for m in running}


def _evaluated_at(contract, site_ids, month):
    return (
        TermEvaluation.objects.filter(term__contract=contract, site_id__in=site_ids, month=month)
        .order_by("-evaluated_at")
        .values_list("evaluated_at", flat=True)
        .first()
    )


@contract_read
def contract_export(request, org, pk):
    contract = _contract(request, pk)
    covered = selectors.contract_sites(membership=request.membership, contract=contract)
    sites = [cs.site for cs in covered]
    what = request.GET.get("what", "terms")
    if what == "statement":
        site_ids = [s.pk for s in sites]
        months = selectors.evaluation_months(contract=contract, site_ids=site_ids)
        month, error = _chosen_month(request, contract, site_ids, months)
        if error or month is None:
            month = this_month(request)
        statement = selectors.payment_statement(contract=contract, month=month, sites=sites)
        for_member([line.band for line in statement.lines], request.membership)
        rows = [
            [contract.reference, f"{month:%Y-%m}", line.site.name, line.band.name,
             line.band.get_activity_display(), line.band.risk_tier or "all", line.count,
             line.band.unit_rate, line.amount]
            for line in statement.lines
        ] + [
            [contract.reference, f"{month:%Y-%m}", "", f"funded: {c.get_kind_display()}",
             "monthly", "", 1, c.monthly_amount, c.monthly_amount]
            for c in statement.components
        ]  # fmt: skip
        return csv_response(
            f"contract-{contract.reference}-statement-{month:%Y-%m}.csv", STATEMENT_COLUMNS, rows
        )
    if what == "processes":
        processes = selectors.corrective_processes(membership=request.membership, contract=contract)
        return csv_response(
            f"contract-{contract.reference}-corrective-processes.csv",
            PROCESS_COLUMNS,
            (
                [contract.reference, p.clause.clause, p.term.metric.name, p.site.name,
                 f"{p.trigger_month:%Y-%m}", p.trigger, person_name(p.owner), p.deadline,
                 p.get_status_display(), p.improvement_action_ref]
                for p in each_for_member(processes, request.membership)
            ),
        )  # fmt: skip
    terms = {t.pk: t for t in selectors.terms(contract)}
    codes = {s.pk: s.name for s in sites}
    step_names = step_names_in_use()
    rows = selectors.evaluations(contract=contract, site_ids=list(codes))
    partial = _partial_months(request, list(codes), rows)
    status_labels = dict(TermEvaluation.Status.choices)
    return csv_response(
        f"contract-{contract.reference}-terms.csv",
        TERM_COLUMNS,
        (
            [contract.reference, terms[r.term_id].clause, terms[r.term_id].metric.name,
             step_name(terms[r.term_id].step, step_names) if terms[r.term_id].step else "",
             codes[r.site_id], f"{r.month:%Y-%m}", PHASE_LABELS.get(r.phase, r.phase), fmt(r.target),
             fmt(r.threshold), fmt(r.numerator), fmt(r.denominator), fmt(r.value),
             status_labels[r.status], reports.partial_label(partial.get(r.month)) if r.partial
             else ""]
            for r in rows
        ),
    )  # fmt: skip


@lead_only
def contract_edit(request, org, pk=None):
    contract = _contract(request, pk) if pk else None
    form = ContractForm(request.POST or None, instance=contract)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contract = services.contract_save(
                by=request.user,
                contract=contract,
                reference=data["reference"],
                name=data["name"],
                commissioner_name=data["commissioner_name"],
                county=data["county"],
                period_start=data["period_start"],
                period_end=data["period_end"],
                pathways=list(data["pathways"]),
                commissioners=list(data["commissioners"]),
                notes=data["notes"],
            )
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"Contract {contract.reference} saved.")
            return redirect("contract_manage", org=org, pk=contract.pk)
    return render(request, "assurance/contracts/edit.html", {"form": form, "contract": contract})


@lead_only
def contract_manage(request, org, pk):
    """The lead's page: every part of the contract with its edit links."""
    contract = _contract(request, pk)
    return render(
        request,
        "assurance/contracts/manage.html",
        {
            "contract": contract,
            "covered": list(contract.sites.select_related("site").order_by("site__code")),
            "components": list(contract.components.order_by("kind")),
            "protected": list(contract.protected.select_related("pathway").order_by("clause")),
            "terms": selectors.terms(contract),
            "bands": list(contract.bands.order_by("order", "name")),
            "clauses": list(contract.clauses.select_related("term__metric", "owner")),
            "labels": PART_LABELS,
        },
    )


def _part(contract, kind, part_pk):
    if kind not in PART_FORMS:
        raise Http404("No such part.")
    if part_pk is None:
        return None
    model = services.PART_MODELS[kind]
    part = model.objects.filter(contract=contract, pk=part_pk).first()
    if part is None:
        raise Http404("No such part.")
    return part


def _save_part(kind, *, contract, by, row, data):
    if kind == "site":
        return services.contract_site_save(
            contract=contract, by=by, row=row, site=data["site"], mature_from=data["mature_from"]
        )
    if kind == "component":
        return services.funded_component_save(contract=contract, by=by, row=row, **data)
    if kind == "protected":
        return services.protected_component_save(contract=contract, by=by, row=row, **data)
    if kind == "term":
        return services.performance_term_save(contract=contract, by=by, row=row, **data)
    if kind == "band":
        return services.payment_band_save(contract=contract, by=by, row=row, **data)
    return services.corrective_clause_save(contract=contract, by=by, row=row, **data)


@lead_only
def part_edit(request, org, pk, kind, part=None):
    contract = _contract(request, pk)
    row = _part(contract, kind, part)
    form_class = PART_FORMS[kind]
    extra = {"contract": contract} if kind in ("protected", "clause") else {}
    form = form_class(request.POST or None, instance=row, **extra)
    if request.method == "POST" and form.is_valid():
        try:
            _save_part(kind, contract=contract, by=request.user, row=row, data=form.cleaned_data)
        except ValidationError as error:
            add_form_errors(form, error)
        else:
            messages.success(request, f"{PART_LABELS[kind]} saved.")
            return redirect("contract_manage", org=org, pk=contract.pk)
    history = []
    if row is not None:
        history = row.history.select_related("history_user").order_by("-history_date")[:20]
    return render(
        request,
        "assurance/contracts/part.html",
        {
            "contract": contract,
            "form": form,
            "kind": kind,
            "label": PART_LABELS[kind],
            "part": row,
            "history": history,
        },
    )


@require_POST
@lead_only
def part_delete(request, org, pk, kind, part):
    contract = _contract(request, pk)
    row = _part(contract, kind, part)
    try:
        services.contract_part_delete(part=row, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{PART_LABELS[kind]} removed; its history stays.")
    return redirect("contract_manage", org=org, pk=contract.pk)


@require_POST
@lead_only
def contract_evaluate(request, org, pk):
    contract = _contract(request, pk)
    months = services.contracts_evaluate_all(organization=request.organization)
    messages.success(
        request,
        f"Terms evaluated for {len(months)} month(s) from the current snapshots."
        if months
        else "No monthly snapshot exists yet; compute one under Assurance → Snapshots.",
    )
    return redirect("contract_detail", org=org, pk=contract.pk)


@lead_only
def contract_history(request, org, pk):
    contract = _contract(request, pk)
    entries = selectors.contract_history(contract=contract)
    page, query = page_of(request, entries, size=100)
    return render(
        request,
        "assurance/contracts/history.html",
        {"contract": contract, "page": page, "query": query},
    )


@process_access
def process_detail(request, org, pk):
    process = selectors.corrective_process_for_member(membership=request.membership, pk=pk)
    if process is None:
        raise Http404("No such corrective process.")
    for_member(process, request.membership)
    form = None
    if request.membership.role in WRITE_ROLES:
        form = CorrectiveProcessForm(request.POST or None, instance=process)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.corrective_process_update(
                    process=process,
                    by=request.user,
                    status=data["status"],
                    progress=data["progress"],
                    owner=data["owner"],
                    deadline=data["deadline"],
                    improvement_action_ref=data["improvement_action_ref"],
                )
            except ValidationError as error:
                add_form_errors(form, error)
            else:
                messages.success(request, "Joint improvement process updated.")
                return redirect("contract_process_detail", org=org, pk=process.pk)
    history = history_for_member(
        process.history.select_related("history_user").order_by("-history_date")[:30],
        process,
        request.membership,
    )
    return render(
        request,
        "assurance/contracts/process.html",
        {
            "process": process,
            "form": form,
            "history": history,
            "learning_installed": bool(improvement_action_providers.providers()),
        },
    )


@require_POST
@roles_required(*WRITE_ROLES)
def process_raise_action(request, org, pk):
    process = selectors.corrective_process_for_member(membership=request.membership, pk=pk)
    if process is None:
        raise Http404("No such corrective process.")
    try:
        reference = improvement_action_raise(source=process, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Improvement action {reference} raised in the improvement log.")
    return redirect("contract_process_detail", org=org, pk=process.pk)


urlpatterns = [
    path("contracts/", contract_list, name="contract_list"),
    path("contracts/new/", contract_edit, name="contract_create"),
    path("contracts/<int:pk>/", contract_detail, name="contract_detail"),
    path("contracts/<int:pk>/export/", contract_export, name="contract_export"),
    path("contracts/<int:pk>/edit/", contract_edit, name="contract_edit"),
    path("contracts/<int:pk>/manage/", contract_manage, name="contract_manage"),
    path("contracts/<int:pk>/evaluate/", contract_evaluate, name="contract_evaluate"),
    path("contracts/<int:pk>/history/", contract_history, name="contract_history"),
    path("contracts/<int:pk>/<slug:kind>/add/", part_edit, name="contract_part_add"),
    path("contracts/<int:pk>/<slug:kind>/<int:part>/", part_edit, name="contract_part_edit"),
    path(
        "contracts/<int:pk>/<slug:kind>/<int:part>/delete/",
        part_delete,
        name="contract_part_delete",
    ),
    path("contracts/processes/<int:pk>/", process_detail, name="contract_process_detail"),
    path(
        "contracts/processes/<int:pk>/action/",
        process_raise_action,
        name="contract_process_action",
    ),
]
