"""Bench figures of the supervisor queue page and the partner API's exceptions list (issue 20),
each against a bare ``values()`` of the same rows: same member's sites, same filters, same
order, same row count, with the planner's statistics fresh (ANALYZE before every timing).

    queue page 1 and the last page (a supervisor of every site)   goal: within 2x
    API list at page_size 100 and 1000 (a key for every site)     goal: within 2x

Beside each figure, the page's own time split into its queries' time and the rest (Python),
and the floor any logged-in page pays in the same harness: a bare request that reads only the
session and the user, and the search page with no query (session, user, membership, the shell:
the base template with its menu and header), so what of the page is the framework's fixed cost
can be told from what the queue spends.

The lines of ``kept_reports`` earlier daily reports are stored first (copies of the measured
report's lines, dated before it), so the figures are taken as an organisation that keeps 90
days of reports sees them. run.py calls ``queue_and_api_figures`` inside the organisation's
scope after the daily report is computed."""

import time

GOAL = 2.0
KEPT_REPORTS = 90
QUEUE_FIELDS = (
    "item__case__external_ref",
    "site_id",
    "step",
    "kind",
    "due_at",
    "completed_at",
    "since",
    "item__status",
    "item__assignee_name",
    "item__note",
)


def _best_of(function, repeat: int = 5) -> float:
    function()  # warm: connections, templates, the plan cache
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE pathways_exceptionreportline")
        cursor.execute("ANALYZE pathways_exceptionitem")
        cursor.execute("ANALYZE pathways_case")
        cursor.execute("ANALYZE pathways_exceptionreport")


def keep_earlier_reports(report, count: int) -> int:
    """``count`` daily reports before ``report`` with copies of its lines, in SQL; returns the
    lines written."""
    from datetime import timedelta

    from django.db import connection, transaction

    from pathways.models import ExceptionReport

    written = 0
    existing = set(ExceptionReport.objects.values_list("date", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        for days in range(1, count + 1):
            day = report.date - timedelta(days=days)
            if day in existing:
                continue
            older = ExceptionReport.objects.create(
                date=day,
                cutoff=report.cutoff - timedelta(days=days),
                computed_at=report.computed_at - timedelta(days=days),
            )
            cursor.execute(
                "INSERT INTO pathways_exceptionreportline (organization_id, report_id, item_id,"
                " kind, due_at, completed_at, site_id, step, since) SELECT organization_id, %s,"
                " item_id, kind, due_at, completed_at, site_id, step, since"
                " FROM pathways_exceptionreportline WHERE report_id = %s",
                [older.pk, report.pk],
            )
            written += cursor.rowcount
    return written


def staff_and_assign(organization, day, per_site: int = 100) -> str:
    """``per_site`` practitioners at each site (a large site's staff) and a current assignment
    for every case, closed ones included (they keep theirs, as in practice), then ``day``'s
    workforce check run: the queue's workforce panel and assignee lists as an organisation
    that records assignments sees them. At 250,000 cases each practitioner holds far more than
    the standard's maximum (20), so every one is flagged and the panel lists its first 50. They
    started a week before ``day``, inside the onboarding and supervision windows, so their
    other checks pass, as most do in a service that keeps its standards (with every one failing
    supervision the panel would also list 50 exceptions). Returns what was made, in words."""
    from datetime import timedelta

    from django.db import connection

    from pathways.models import Case
    from scaling_ops.models import Site
    from workforce.models import CaseAssignment, StaffMember
    from workforce.services.checks import workforce_checks_compute

    StaffMember.objects.bulk_create(
        StaffMember(
            organization=organization, site=site, name=f"Practitioner {site.code} {n:03d}",
            role="practitioner", experience_band="experienced",
            start_date=day - timedelta(days=7),
        )
        for site in Site.objects.order_by("code")
        for n in range(per_site)
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH staff AS (
                SELECT id, site_id, row_number() OVER (PARTITION BY site_id ORDER BY id) - 1 AS n
                FROM "{StaffMember._meta.db_table}" WHERE organization_id = %s
            )
            INSERT INTO "{CaseAssignment._meta.db_table}"
                (organization_id, case_id, practitioner_id, assigned_at)
            SELECT c.organization_id, c.id, staff.id, c.referral_at
            FROM "{Case._meta.db_table}" c
            JOIN staff ON staff.site_id = c.site_id AND staff.n = c.id %% %s
            WHERE c.organization_id = %s
            """,
            [organization.pk, per_site, organization.pk],
        )
        assigned = cursor.rowcount
        cursor.execute(f'ANALYZE "{CaseAssignment._meta.db_table}"')
        cursor.execute(f'ANALYZE "{StaffMember._meta.db_table}"')
    started = time.perf_counter()
    run = workforce_checks_compute(organization=organization, date=day)
    seconds = time.perf_counter() - started
    return (
        f"{StaffMember.objects.count():,} practitioners, {assigned:,} cases assigned; the day's"
        f" check run {seconds:.1f} s: {run.failing:,} failing checks,"
        f" {run.caseload_flags.count():,} practitioners above the maximum caseload"
    )


def _record(figures, name: str, measured: float, baseline: float, queries: int | None = None):
    """One figure beside its goal in run.py's table."""
    label = name + (f", {queries} queries" if queries is not None else "")
    figures.ratio(label, measured, baseline, "s", goal=("<=", GOAL))


def _queries(function) -> int:
    """Queries one call makes, counted as they execute: a test client's request clears
    ``connection.queries`` when it starts, so CaptureQueriesContext would see none."""
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        function()
    return len(executed)


def _sql_split(function, repeat: int = 5) -> tuple[float, float]:
    """(seconds in all, seconds waiting on SQL) of the quickest of ``repeat`` calls: what of a
    page's time its queries take (the bare baselines are one query each), the rest being
    Python (middleware, session, serialization, the template)."""
    from django.db import connection

    splits = []
    for _ in range(repeat):
        waited = [0.0]

        def timed(execute, sql, params, many, context, waited=waited):
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                waited[0] += time.perf_counter() - started

        started = time.perf_counter()
        with connection.execute_wrapper(timed):
            function()
        splits.append((time.perf_counter() - started, waited[0]))
    return min(splits)


def _note_split(figures, name: str, function) -> None:
    total, sql = _sql_split(function)
    figures.note(
        f"{name}: time in SQL, and in Python",
        f"{sql:.3f} s in SQL, {total - sql:.3f} s in Python ({total:.3f} s in all)",
    )


def _html_kb(client, url: str) -> float:
    from scaling_ops import tenancy

    with tenancy.isolated():
        return len(client.get(url).content) / 1024


def _panels_seconds(user, sites) -> float:
    """The best time of the sections apps above pathways add to the queue page (workforce's
    panel): part of the page's time that the pathways queue itself does not spend."""
    from django.test import RequestFactory

    from pathways.queue_panels import panels_for
    from scaling_ops.models import Membership

    membership = Membership.objects.select_related("organization", "user").get(user=user)
    request = RequestFactory().get("/")
    request.user = user
    return _best_of(lambda: panels_for(request, membership, sites))


def _floor_seconds(client, organization) -> tuple[float, float]:
    """(a bare request, the shell) best times, each through every middleware as the queue is:
    a view that only names the session's user (served by a URL configuration of its own, the
    project's plus that one path), and the search page with no query."""
    import types

    from django.http import HttpResponse
    from django.test import override_settings
    from django.urls import path

    from scaling_ops import tenancy
    from scaling_ops import urls as project_urls

    def get(url):
        with tenancy.isolated():
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    bare_urls = types.ModuleType("bench_bare_request_urls")
    bare_urls.urlpatterns = [
        path("bench-bare/", lambda request: HttpResponse(request.user.get_username())),
        *project_urls.urlpatterns,
    ]
    with override_settings(ROOT_URLCONF=bare_urls):
        bare = _best_of(lambda: get("/bench-bare/"), repeat=10)
    shell = _best_of(lambda: get(f"/o/{organization.slug}/search/"), repeat=10)
    return bare, shell


def queue_and_api_figures(figures, *, organization, report, kept_reports: int = KEPT_REPORTS):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from pathways.models import ExceptionReportLine
    from pathways.selectors.api_lines import ORM_COLUMNS
    from pathways.selectors.exceptions import NEEDS_ACTION, PAGE_SIZE, QUEUE_ORDER
    from scaling_ops import services, tenancy
    from scaling_ops.models import Role, Site

    figures.note(
        "workforce for the queue's panel (added after the snapshot)",
        staff_and_assign(organization, report.date),
    )
    copied = keep_earlier_reports(report, kept_reports - 1)
    figures.note(
        "daily reports kept for the queue and API figures",
        f"{kept_reports} ({copied:,} copied lines before the measured report)",
    )
    sites = list(Site.objects.order_by("code"))
    site_ids = sorted(site.pk for site in sites)
    supervisor, _ = get_user_model().objects.get_or_create(username="bench-supervisor")
    services.membership_set(
        user=supervisor, organization=organization, role=Role.SUPERVISOR, sites=sites
    )
    client = Client()
    client.force_login(supervisor)
    _, raw_key = services.partner_key_create(name=f"bench-queue-{time.time_ns()}", sites=sites)
    queue_url = f"/o/{organization.slug}/exceptions/"

    needs_action = ExceptionReportLine.objects.filter(
        report=report, site_id__in=site_ids, item__status__in=NEEDS_ACTION
    ).order_by(*QUEUE_ORDER)

    def bare_queue_first():
        list(needs_action.values(*QUEUE_FIELDS)[:PAGE_SIZE])

    def bare_queue_last():
        list(needs_action.reverse().values(*QUEUE_FIELDS)[:PAGE_SIZE])

    def page(url, **headers):
        def get():
            with tenancy.isolated():
                response = client.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)

        return get

    for label, url, bare in (
        ("supervisor queue page 1", queue_url, bare_queue_first),
        ("supervisor queue last page", f"{queue_url}?last=1", bare_queue_last),
    ):
        _analyze()
        measured = _best_of(page(url))
        baseline = _best_of(bare)
        _record(figures, label, measured, baseline, _queries(page(url)))
        _note_split(figures, label, page(url))
    figures.note(
        "supervisor queue page 1: HTML size; time in the sections other apps add",
        f"{_html_kb(client, queue_url):.0f} KB; {_panels_seconds(supervisor, sites):.3f} s",
    )
    bare_request, shell = _floor_seconds(client, organization)
    figures.note(
        "logged-in page floor: a bare request (session, user); the shell (session, user,"
        " membership, the base template)",
        f"{bare_request:.3f} s; {shell:.3f} s",
    )

    api_lines = ExceptionReportLine.objects.filter(report=report, site_id__in=site_ids).order_by(
        "id"
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw_key}"}
    for size in (100, 1000):
        _analyze()
        url = f"/api/v1/exceptions/?page_size={size}"
        measured = _best_of(page(url, **auth))
        baseline = _best_of(lambda size=size: list(api_lines.values(*ORM_COLUMNS)[:size]))
        _record(
            figures,
            f"API exception list, page_size {size}",
            measured,
            baseline,
            _queries(page(url, **auth)),
        )
        _note_split(figures, f"API exception list, page_size {size}", page(url, **auth))
