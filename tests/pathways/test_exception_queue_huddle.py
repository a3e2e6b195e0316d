"""The queue as a huddle page (issues 19 and 20): one open-exception count for home and queue
with the rest explained and listed, the summary stored with the report, filters remembered per
person, the assign picker fetched per row, words instead of keys, and a query count that stays
the same at page 1, a deep page and the last page."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from pathways.models import ExceptionItem, ExceptionReport
from pathways.selectors.exceptions import (
    exception_report_summary,
    exception_report_summary_rows,
)
from pathways.selectors.exceptions import queue_preference_query as _preference
from pathways.services.exception_triage import (
    exception_item_resolve,
    exception_items_bulk_accept,
)
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import (
    DAY,
    at,
    build_version,
    complete,
    event,
    make_case,
    overdue_case,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
# What a person must not meet on the page: step keys, rule keys, status keys.
RAW_KEY = re.compile(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+-[a-z]+-[a-z-]+\b|=True|step:|@event:")


@pytest.fixture
def version(tenant):
    return build_version()


def compute(personas, day=DAY):
    with tenancy.scope(personas.org):
        return exception_report_compute(organization=personas.org, date=day)


@pytest.fixture
def queue(personas, version):
    overdue_case(version, personas.north, "C-N1")
    late = make_case(version, personas.north, "C-N2", at(DAY - timedelta(days=2), 8))
    complete(late, "intake", at(DAY, 12))
    high = make_case(version, personas.north, "C-N3", at(DAY - timedelta(days=1), 8), "high")
    complete(high, "intake", at(DAY - timedelta(days=1), 9))
    event(high, "contact_missed", at(DAY - timedelta(days=1), 10))
    event(high, "contact_missed", at(DAY - timedelta(days=1), 11))
    overdue_case(version, personas.south, "C-S1")
    return compute(personas)


def url(personas, name="exception_queue", **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def refs(response) -> list[str]:
    return [line.item.case.external_ref for line in response.context["rows"]]


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(response) -> str:
    parser = _Text()
    parser.feed(response.content.decode())
    return " ".join(parser.parts)


# --- one count, explained -----------------------------------------------------------------------


def test_home_and_queue_give_the_same_open_count_and_explain_the_rest(personas, queue):
    # The next day's report no longer has C-N2's late intake (late during DAY only), which is
    # still open: the queue lists 4 of the 5 items the home page counts, and says why.
    compute(personas, DAY + timedelta(days=1))
    client = personas.client(personas.supervisor)
    home = client.get(reverse("org_home", kwargs={"org": personas.org.slug})).content.decode()
    page = client.get(url(personas))
    counts = page.context["counts"]
    assert (counts.total, counts.on_report, counts.earlier) == (5, 4, 1)
    assert "5 exceptions need action (open or assigned) in your sites" in home
    assert "4 on the latest daily report and 1 still open from earlier days" in home
    text = " ".join(visible_text(page).split())
    assert "5 exceptions need action in your site: 4 on this report and 1 still open" in text
    assert len(refs(page)) == 4


def test_the_items_still_open_from_earlier_days_are_listed(personas, queue):
    compute(personas, DAY + timedelta(days=1))
    client = personas.client(personas.supervisor)
    earlier = client.get(f"{url(personas)}?show=earlier")
    assert earlier.status_code == 200
    assert refs(earlier) == ["C-N2"]
    assert "Still open from earlier days" in earlier.content.decode()
    # Once resolved it is no longer counted anywhere.
    with tenancy.scope(personas.org):
        item = ExceptionItem.objects.get(case__external_ref="C-N2")
        exception_item_resolve(item=item, by=personas.admin, note="Done late, reviewed.")
    again = client.get(url(personas))
    assert (again.context["counts"].total, again.context["counts"].earlier) == (4, 0)


def test_a_supervisor_counts_only_their_sites(personas, queue):
    admin = personas.client(personas.admin).get(url(personas)).context["counts"]
    supervisor = personas.client(personas.supervisor).get(url(personas)).context["counts"]
    assert admin.total == 6 and supervisor.total == 5


# --- the summary stored with the report --------------------------------------------------------


def _grouped_again(report) -> dict:
    """What grouping every line of ``report`` again gives, in a comparable order."""
    fresh = exception_report_summary_rows(report_id=report.pk)
    return {"lines": sorted(fresh["lines"]), "open_items": fresh["open_items"]}


def _stored(report) -> dict:
    report.refresh_from_db()
    return {"lines": sorted(report.summary["lines"]), "open_items": report.summary["open_items"]}


def test_the_summary_is_stored_with_the_report_and_updated_in_place_by_triage(
    personas, queue, django_assert_num_queries
):
    queue.refresh_from_db()
    assert queue.summary is not None
    client = personas.client(personas.admin)
    client.get(url(personas))
    with tenancy.scope(personas.org):
        item = ExceptionItem.objects.get(case__external_ref="C-N1")
        exception_item_resolve(item=item, by=personas.admin, note="Rebooked.")
        # Updated in place, exactly as grouping every line again would store it.
        assert _stored(queue) == _grouped_again(queue)
    resolved = [line for line in queue.summary["lines"] if line[3] == "resolved"]
    assert [(line[1], line[2], line[4]) for line in resolved] == [("intake", "overdue_step", 1)]
    # The next page reads the stored summary as it is: no grouping of the report's lines.
    with django_assert_num_queries(len(_page_queries(client, url(personas)))):
        page = client.get(url(personas))
    intake = [row for row in page.context["summary"]["rows"] if row["step"] == "intake"]
    assert [(row["kind"], row["count"]) for row in intake] == [
        ("late_step", 1),
        ("overdue_step", 1),
    ]


def _page_queries(client, address) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(address)
    return [query["sql"] for query in queries]


def test_bulk_triage_updates_every_stored_summary_in_place(personas, queue):
    """Two reports hold the same items; a bulk close leaves each report's
    stored summary (cells and open counts per site) as grouping its lines again would."""
    later = compute(personas, DAY + timedelta(days=1))
    with tenancy.scope(personas.org):
        queue.refresh_from_db()
        exception_report_summary(report=queue)  # the later day's run cleared it; a page regroups
        items = list(ExceptionItem.objects.filter(case__external_ref__in=["C-N1", "C-N3", "C-S1"]))
        changed, _ = exception_items_bulk_accept(
            items=items, by=personas.admin, reason="Agreed with the commissioner."
        )
        assert changed == len(items) > 3
        for report in (queue, later):
            assert _stored(report) == _grouped_again(report)
        assert not any(
            line[3] in ("open", "assigned") and line[0] == personas.south.pk
            for line in later.summary["lines"]
        )
        assert str(personas.south.pk) not in later.summary["open_items"]


def test_the_summary_follows_the_status_filter(personas, queue):
    with tenancy.scope(personas.org):
        item = ExceptionItem.objects.get(case__external_ref="C-N1")
        exception_item_resolve(item=item, by=personas.admin, note="Rebooked.")
    page = personas.client(personas.admin).get(f"{url(personas)}?status=resolved")
    rows = page.context["summary"]["rows"]
    assert [(row["step"], row["kind"], row["count"]) for row in rows] == [
        ("intake", "overdue_step", 1)
    ]
    assert refs(page) == ["C-N1"]


# --- filters remembered per person --------------------------------------------------------------


def test_filters_are_remembered_per_person_until_reset(personas, queue):
    client = personas.client(personas.admin)
    client.get(f"{url(personas)}?site=south&kind=")
    remembered = client.get(url(personas))
    assert refs(remembered) == ["C-S1"]
    assert remembered.context["remembered"]
    assert "Your filters from your last visit are applied" in remembered.content.decode()
    # Another person's queue is not affected.
    assert len(refs(personas.client(personas.lead).get(url(personas)))) == 6
    # Choosing "All my sites" in the form is a choice too.
    assert len(refs(client.get(f"{url(personas)}?site=&kind="))) == 6
    assert len(refs(client.get(url(personas)))) == 6
    client.get(f"{url(personas)}?kind=late_step")
    reset = client.get(f"{url(personas)}?reset=1")
    assert len(refs(reset)) == 6 and not reset.context["remembered"]
    assert len(refs(client.get(url(personas)))) == 6


def test_a_remembered_site_the_person_has_lost_is_dropped_quietly(personas, queue):
    from scaling_ops import services
    from scaling_ops.models import Role

    services.membership_set(
        user=personas.supervisor, organization=personas.org, role=Role.SUPERVISOR,
        sites=[personas.north, personas.south],
    )  # fmt: skip
    client = personas.client(personas.supervisor)
    client.get(f"{url(personas)}?site=south&kind=overdue_step")
    assert refs(client.get(url(personas))) == ["C-S1"]
    services.membership_set(
        user=personas.supervisor, organization=personas.org, role=Role.SUPERVISOR,
        sites=[personas.north],
    )  # fmt: skip
    page = client.get(url(personas))
    assert page.status_code == 200
    assert not page.context["form"].errors
    # The rest of the remembered choice still applies, to the sites the person still has.
    assert page.context["filters"].kind == "overdue_step" and not page.context["filters"].site
    assert refs(page) and "C-S1" not in refs(page)
    assert "site=" not in queue_preference_query(personas.supervisor)


# --- rows -----------------------------------------------------------------------------------------


def test_row_actions_are_fetched_when_the_menu_opens(personas, queue):
    client = personas.client(personas.supervisor)
    page = client.get(url(personas)).content.decode()
    # No picker or form per row: only the filter's and the bulk form's lists.
    assert 'id="assignee-' not in page and 'name="note" required' not in page
    item = ExceptionItem.objects.get(case__external_ref="C-N1")
    actions = url(personas, "exception_actions", pk=item.pk)
    assert f'hx-get="{actions}?report={queue.pk}' in page
    fragment = client.get(actions, {"report": queue.pk}, **HTMX)
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert 'name="assignee"' in body and "sam" in body
    assert "/resolve/" in body and "/accept/" in body
    full = client.get(actions, {"next": "https://evil.test/"})
    assert "<html" in full.content.decode() and "Intake" in full.content.decode()
    assert "https://evil.test/" not in full.content.decode()


def test_row_actions_are_refused_outside_the_members_sites(personas, queue):
    south = ExceptionItem.objects.get(case__external_ref="C-S1")
    client = personas.client(personas.supervisor)
    assert client.get(url(personas, "exception_actions", pk=south.pk)).status_code == 404
    commissioner = personas.client(personas.commissioner)
    assert commissioner.get(url(personas, "exception_actions", pk=south.pk)).status_code == 403


def test_an_htmx_refusal_redraws_the_row_with_its_actions_open(personas, queue):
    item = ExceptionItem.objects.get(case__external_ref="C-N1")
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_resolve", pk=item.pk), {"note": " ", "report": queue.pk}, **HTMX
    )
    body = response.content.decode()
    assert body.startswith(f'<tr id="exception-{item.pk}">')
    assert '<details class="menu" open>' in body and 'role="alert"' in body
    assert 'name="assignee"' in body


def test_the_page_shows_words_not_keys(personas, queue):
    page = personas.client(personas.admin).get(f"{url(personas)}?status=all")
    text = visible_text(page).replace("scaling_ops", "")  # the brand
    assert RAW_KEY.findall(text) == []
    assert "Follow-up" in text and "Repeated missed contacts" in text
    assert "Missed escalation" in text


# --- queries --------------------------------------------------------------------------------------


def _many(personas, version, count):
    for number in range(count):
        overdue_case(version, personas.north, f"Q-{number:03d}")
    return compute(personas)


# Session, user, membership; the person's remembered filters; the report (its summary and step
# names stored with it); the sites; the assignee list (members, and workforce's staff); the
# workforce panel's latest check run (1; its open exceptions and caseload flags only once
# checks have run, which they have not here); the front door's held referrals (1); one page of lines
# with their items and cases. The supervisor's named sites are read once, rows and ids together
# (scaling_ops.selectors.visible_site_list).
QUEUE_QUERIES = 11


def test_queue_query_count_is_pinned_at_every_page(personas, version, django_assert_num_queries):
    _many(personas, version, 120)
    client = personas.client(personas.supervisor)
    first = client.get(url(personas))  # stores nothing more: the summary came with the report
    middle_id = first.context["rows"][-1].pk
    with django_assert_num_queries(QUEUE_QUERIES):
        first = client.get(url(personas))
    with django_assert_num_queries(QUEUE_QUERIES):
        middle = client.get(f"{url(personas)}?after={middle_id}")
    with django_assert_num_queries(QUEUE_QUERIES):
        last = client.get(f"{url(personas)}?last=1")
    assert [len(page.context["rows"]) for page in (first, middle, last)] == [50, 50, 50]
    assert refs(last)[-1] == "Q-119"


def test_queue_query_count_does_not_grow_with_rows_or_reports(
    personas, version, django_assert_num_queries
):
    _many(personas, version, 3)
    for day in range(1, 4):
        compute(personas, DAY + timedelta(days=day))
    client = personas.client(personas.supervisor)
    client.get(url(personas))
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get(url(personas))
    assert len(response.context["rows"]) == 3
    assert ExceptionReport.objects.count() == 4


def test_the_summary_follows_the_site_filter(personas, queue):
    page = personas.client(personas.admin).get(f"{url(personas)}?site=south")
    summary = page.context["summary"]
    assert [site["code"] for site in summary["sites"]] == ["south"]
    assert [(row["step"], row["count"]) for row in summary["rows"]] == [("intake", 1)]


def test_summary_cells_of_an_earlier_day_keep_the_day(personas, queue):
    compute(personas, DAY + timedelta(days=1))
    page = personas.client(personas.admin).get(f"{url(personas)}?date={DAY}")
    assert page.context["report"].date == DAY
    assert f"?date={DAY}&amp;site=north&amp;step=intake&amp;kind=late_step" in (
        page.content.decode()
    )


def queue_preference_query(user) -> str:
    return _preference(user=user)


def test_summary_links_are_each_cell_s_whole_query_quoted_and_escaped():
    """The summary's links are built from pieces quoted once per site and per row; each must be
    what quoting and escaping the cell's whole query gives."""
    from urllib.parse import quote

    from django.utils.html import escape

    from pathways.queue_rows import queue_summary_html

    def whole(base, **params):
        query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in params.items())
        return escape(f"?{base}&{query}" if base else f"?{query}")

    cell = {"count": 3, "oldest_age": 2, "site": "n&rth"}
    summary = {
        "sites": [{"id": 1, "code": "n&rth", "name": "North <1>"}, {"id": 2, "code": "s", "name": "S"}],
        "rows": [
            {"step": "a/b c", "step_name": "A & B", "kind": "overdue_step",
             "kind_label": "Overdue step", "count": 3, "by_site": [cell, None]},
        ],
        "filter_base": "date=2026-11-03&status=all",
    }  # fmt: skip
    for base in ("date=2026-11-03&status=all", ""):
        summary["filter_base"] = base
        html = queue_summary_html(summary, status_label="All")
        assert f'href="{whole(base, site="n&rth")}"' in html
        assert f'href="{whole(base, site="n&rth", step="a/b c", kind="overdue_step")}"' in html
        assert f'href="{whole(base, step="a/b c", kind="overdue_step")}"' in html
        assert html.count("href=") == 4


def test_filter_fields_are_written_as_the_template_loop_wrote_them():
    """The filter form's fields are written in Python; the bytes are those of the template loop
    they replace, errors included."""
    from django.template import Context, Template

    from pathways.assignees import Assignee
    from pathways.queue_rows import filter_fields_html
    from pathways.views.exceptions import QueueFilterForm

    loop = Template(
        '{% for field in form %}<div><label for="{{ field.id_for_label }}">{{ field.label }}'
        "</label>{{ field }}{% if field.errors %}{{ field.errors }}{% endif %}</div>{% endfor %}"
    )
    people = [Assignee(key="user:1", name="Ann <A&B>", group="Supervisors, leads and admins")]
    for data in ({}, {"date": "15/11/2026", "kind": "bogus", "assignee": "user:1", "age": "2-7"}):
        form = QueueFilterForm(data, sites=[], steps=[("a&b", "A & B")], assignees=people)
        assert filter_fields_html(form) == loop.render(Context({"form": form}))
    assert 'class="errorlist' in filter_fields_html(form)
