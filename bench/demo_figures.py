"""The demo's daily and monthly figures as one JSON document, to show that a change altered none.

    python bench/demo_figures.py dump figures.json     # from the database DATABASE_URL names
    python bench/demo_figures.py compare before.json after.json

The demo generates events up to the moment it is seeded, so two seeds compare only at the same
instant: seed each checkout under a frozen clock (Debian's faketime), e.g.

    export DATABASE_URL=sqlite:////tmp/demo_after.sqlite3 DEBUG=1 FAKETIME_DONT_FAKE_MONOTONIC=1
    python manage.py migrate && faketime -f '2026-12-01 12:00:00' python manage.py seed_demo
    python bench/demo_figures.py dump /tmp/after.json

Read with plain SQL over table names that do not move when code does, so the same script reads
a database seeded by an older checkout. Keys are what a person would compare: case refs, step
keys and obligation keys, never row ids (an event-anchored obligation is keyed by the partner's
event id).
"""

import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scaling_ops.settings")
os.environ.setdefault("DEBUG", "1")

DAILY_LINES = """
SELECT o.slug, r.date, s.code, c.external_ref, i.obligation_key, l.kind, l.due_at, l.completed_at
FROM pathways_exceptionreportline l
JOIN pathways_exceptionreport r ON r.id = l.report_id
JOIN pathways_exceptionitem i ON i.id = l.item_id
JOIN pathways_case c ON c.id = i.case_id
JOIN scaling_ops_site s ON s.id = i.site_id
JOIN scaling_ops_organization o ON o.id = r.organization_id
"""
ITEMS = """
SELECT o.slug, c.external_ref, i.obligation_key, i.kind, i.status, i.closed_automatically,
       i.first_reported_on, i.last_reported_on
FROM pathways_exceptionitem i
JOIN pathways_case c ON c.id = i.case_id
JOIN scaling_ops_organization o ON o.id = i.organization_id
"""
# The newest revision of each site-month: the figures a reader sees.
MONTHLY_VALUES = """
SELECT o.slug, s.code, a.month, v.measure, v.step, v.dimension, v.segment,
       v.numerator, v.denominator, v.value
FROM assurance_snapshotvalue v
JOIN assurance_assurancesnapshot a ON a.id = v.snapshot_id
JOIN scaling_ops_site s ON s.id = a.site_id
JOIN scaling_ops_organization o ON o.id = a.organization_id
WHERE a.revision = (SELECT MAX(b.revision) FROM assurance_assurancesnapshot b
                    WHERE b.organization_id = a.organization_id AND b.site_id = a.site_id
                      AND b.month = a.month)
"""
EVENT_IDS = "SELECT id, event_id FROM pathways_caseevent"


def _rows(cursor, sql: str) -> list[list]:
    cursor.execute(sql)
    return [[_plain(value) for value in row] for row in cursor.fetchall()]


def _plain(value):
    if isinstance(value, float):
        return round(value, 9)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def dump(path: str) -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        partner_ids = dict(_rows(cursor, EVENT_IDS))

        def by_partner_id(key: str) -> str:
            return re.sub(r"event:(\d+)", lambda m: f"event:{partner_ids.get(int(m[1]))}", key)

        daily = sorted(
            [*row[:4], by_partner_id(row[4]), *row[5:]] for row in _rows(cursor, DAILY_LINES)
        )
        items = sorted(
            [row[0], row[1], by_partner_id(row[2]), *row[3:]] for row in _rows(cursor, ITEMS)
        )
        monthly = sorted(_rows(cursor, MONTHLY_VALUES), key=lambda row: [str(v) for v in row])
    Path(path).write_text(json.dumps({"daily": daily, "items": items, "monthly": monthly}))
    print(f"{len(daily)} daily lines, {len(items)} items, {len(monthly)} monthly values -> {path}")


def compare(before_path: str, after_path: str) -> int:
    before = json.loads(Path(before_path).read_text())
    after = json.loads(Path(after_path).read_text())
    differences = 0
    for part in ("daily", "items", "monthly"):
        old = {json.dumps(row) for row in before[part]}
        new = {json.dumps(row) for row in after[part]}
        print(
            f"{part}: {len(old)} before, {len(new)} after, {len(old - new)} gone, "
            f"{len(new - old)} new"
        )
        for row in sorted(old - new)[:5]:
            print(f"  only before: {row}")
        for row in sorted(new - old)[:5]:
            print(f"  only after:  {row}")
        differences += len(old ^ new)
    print("identical" if not differences else f"{differences} rows differ")
    return 1 if differences else 0


if __name__ == "__main__":
    command, *paths = sys.argv[1:]
    if command == "dump":
        dump(*paths)
    elif command == "compare":
        sys.exit(compare(*paths))
    else:
        sys.exit(__doc__)
