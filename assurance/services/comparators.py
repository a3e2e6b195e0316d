"""Comparator baselines for outcomes: entered in a form or imported from CSV."""

import csv
import io

from django.core.exceptions import ValidationError
from django.db import transaction

from assurance.models import BaselineRate, ComparatorBaseline
from scaling_ops.models import Site

RISK_TIERS = ("low", "medium", "high")
CSV_COLUMNS = ["name", "kind", "site", "period", "source", "risk_tier", "rate", "population"]
# The header the export writes, in words; the import reads either ("Risk tier" or risk_tier).
CSV_HEADER = ["Name", "Kind", "Site", "Period", "Source", "Risk tier", "Rate", "Population"]


def _column(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def baseline_save(
    *,
    name: str,
    kind: str,
    rates: dict[str, tuple[float, int]],
    site: Site | None = None,
    period: str = "",
    source: str = "",
    active: bool = True,
    by=None,
) -> ComparatorBaseline:
    """Creates or replaces the baseline called ``name`` with a rate (percent) and a population
    for every risk tier."""
    name = name.strip()
    errors = {}
    if not name:
        errors["name"] = "Give the baseline a name."
    if kind not in ComparatorBaseline.Kind.values:
        errors["kind"] = "Choose historical, geographic or matched."
    missing = [t for t in RISK_TIERS if t not in rates]
    if missing:
        errors["rates"] = (
            f"Give a rate and a population for every tier; missing: {', '.join(missing)}."
        )
    for tier, (rate, population) in rates.items():
        if tier not in RISK_TIERS:
            errors["rates"] = f"Unknown risk tier {tier!r}; use low, medium, high."
        elif rate is None or not 0 <= rate <= 100:
            errors[f"rate_{tier}"] = "A rate is a percent between 0 and 100."
        elif population is None or population < 1:
            errors[f"population_{tier}"] = "The population must be at least 1."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        baseline = ComparatorBaseline.objects.filter(name=name).first() or ComparatorBaseline(
            name=name
        )
        baseline.kind = kind
        baseline.site = site
        baseline.period = period.strip()
        baseline.source = source.strip()
        baseline.active = active
        baseline._history_user = by
        baseline.save()
        existing = {r.risk_tier: r for r in baseline.rates.all()}
        for tier in RISK_TIERS:
            rate, population = rates[tier]
            row = existing.get(tier) or BaselineRate(baseline=baseline, risk_tier=tier)
            row.rate = float(rate)
            row.population = int(population)
            row._history_user = by
            row.save()
    return baseline


def baselines_import_csv(*, text: str, by=None) -> list[ComparatorBaseline]:
    """Imports baselines from CSV (one row per baseline and tier, columns ``CSV_COLUMNS``); the
    whole file is checked first and nothing is stored if any row is wrong."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames:
        reader.fieldnames = [_column(name) for name in reader.fieldnames]
    missing = [
        c
        for c in ("name", "kind", "risk_tier", "rate", "population")
        if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise ValidationError(
            f"The CSV needs the columns {', '.join(CSV_HEADER)}; missing: "
            + ", ".join(CSV_HEADER[CSV_COLUMNS.index(name)] for name in missing)
            + "."
        )
    sites = {site.code: site for site in Site.objects.all()}
    grouped: dict[str, dict] = {}
    errors = []
    for line, row in enumerate(reader, start=2):
        name = (row.get("name") or "").strip()
        site_code = (row.get("site") or "").strip()
        try:
            rate = float(row["rate"])
            population = int(float(row["population"]))
        except (TypeError, ValueError):
            errors.append(f"line {line}: rate and population must be numbers")
            continue
        if site_code and site_code not in sites:
            errors.append(f"line {line}: no site {site_code!r}")
            continue
        entry = grouped.setdefault(
            name,
            {
                "kind": (row.get("kind") or "").strip(),
                "site": sites.get(site_code),
                "period": row.get("period") or "",
                "source": row.get("source") or "",
                "rates": {},
            },
        )
        entry["rates"][(row.get("risk_tier") or "").strip()] = (rate, population)
    if errors:
        raise ValidationError(errors)
    if not grouped:
        raise ValidationError("The CSV has no rows.")
    saved = []
    with transaction.atomic():
        for name, entry in grouped.items():
            try:
                saved.append(baseline_save(name=name, by=by, **entry))
            except ValidationError as error:
                raise ValidationError(
                    [f"{name or '(no name)'}: {message}" for message in error.messages]
                ) from None
    return saved
