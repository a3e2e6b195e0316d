"""The exception queue's "assign" reaches practitioners: each site's staff are offered for that
site's exceptions only, the case's current practitioner is suggested, leavers are refused, and
the assignee is kept by name in the item's history and the CSV."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.urls import reverse

from pathways.assignees import user_key
from pathways.models import ExceptionItem
from pathways.services.exception_triage import exception_item_assign
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.pathways.exception_helpers import DAY, build_version, overdue_case
from tests.workforce.conftest import LONG_AGO, person
from workforce.models import StaffRole
from workforce.services import case_assign, staff_update

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def queue(personas, wf):
    """North: C-N1 (its practitioner is Ana) and C-N2 overdue; South: C-S1 overdue. Staff: Ana
    and Ben at North, Sol at South."""
    with tenancy.scope(personas.org):
        version = build_version()
        north_case = overdue_case(version, personas.north, "C-N1")
        overdue_case(version, personas.north, "C-N2")
        overdue_case(version, personas.south, "C-S1")
        ana = person(personas, wf["team"], "Ana Practitioner")
        ben = person(personas, wf["team"], "Ben Practitioner")
        sol = person(personas, None, "Sol South")
        staff_update(staff=sol, site=personas.south)
        case_assign(case=north_case, practitioner=ana)
        exception_report_compute(organization=personas.org, date=DAY)
        yield {"ana": ana, "ben": ben, "sol": sol}


def staff_key(staff) -> str:
    return f"staff:{staff.pk}"


def item(ref: str) -> ExceptionItem:
    return ExceptionItem.objects.get(case__external_ref=ref, step="intake")


def url(personas, name="exception_queue", **kwargs):
    return reverse(name, kwargs={"org": personas.org.slug, **kwargs})


def test_each_row_offers_its_sites_staff_and_suggests_the_cases_practitioner(personas, queue):
    # A row's picker comes with its actions when its menu opens (one list per page, not per row).
    client = personas.client(personas.admin)

    def actions(ref):
        response = client.get(
            url(personas, "exception_actions", pk=item(ref).pk), HTTP_HX_REQUEST="true"
        )
        return response.context, response.content.decode()

    north, html = actions("C-N1")
    north_options = [person.key for person in north["people"]]
    assert staff_key(queue["ana"]) in north_options
    assert staff_key(queue["sol"]) not in north_options  # Sol works at South
    assert user_key(personas.supervisor) in north_options  # members take any site's items
    assert north["suggested"] == staff_key(queue["ana"])
    assert actions("C-N2")[0]["suggested"] == ""  # no practitioner for this case
    assert staff_key(queue["sol"]) in [p.key for p in actions("C-S1")[0]["people"]]
    assert (
        f'<option value="{staff_key(queue["ana"])}" selected>Ana Practitioner (Practitioner)'
        " · case practitioner</option>" in html
    )
    assert '<optgroup label="Staff at North">' in html


def test_assigning_to_a_practitioner_keeps_their_name_in_history_and_csv(personas, queue):
    client = personas.client(personas.supervisor)
    target = item("C-N2")
    response = client.post(
        url(personas, "exception_assign", pk=target.pk),
        {"assignee": staff_key(queue["ben"])},
        **HTMX,
    )
    assert response.status_code == 200
    assert "→ Ben Practitioner (Practitioner)" in response.content.decode()
    target.refresh_from_db()
    assert (target.status, target.assignee_key, target.assignee_name) == (
        "assigned",
        staff_key(queue["ben"]),
        "Ben Practitioner (Practitioner)",
    )
    latest = target.history.order_by("-history_date").first()
    assert latest.history_change_reason == "Assigned to Ben Practitioner (Practitioner)"

    filtered = client.get(f"{url(personas)}?assignee={staff_key(queue['ben'])}")
    assert [line.item.case.external_ref for line in filtered.context["rows"]] == ["C-N2"]
    exported = client.get(f"{url(personas)}?format=csv").content.decode()
    rows = {row["Case"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert rows["C-N2"]["Assigned to"] == "Ben Practitioner (Practitioner)"


def test_a_practitioner_of_another_site_is_refused_by_name(personas, queue):
    target = item("C-N1")
    response = personas.client(personas.admin).post(
        url(personas, "exception_assign", pk=target.pk),
        {"assignee": staff_key(queue["sol"])},
        **HTMX,
    )
    assert "Sol South (Practitioner) does not work at North" in response.content.decode()
    target.refresh_from_db()
    assert (target.status, target.assignee_key) == ("open", "")


def test_a_leaver_cannot_be_assigned(personas, queue):
    with tenancy.scope(personas.org):
        staff_update(staff=queue["ben"], left_on=date.today() - timedelta(days=1))
        target = item("C-N2")
        with pytest.raises(Exception, match="Choose someone from the list"):
            exception_item_assign(
                item=target, by=personas.supervisor, assignee=staff_key(queue["ben"])
            )
        target.refresh_from_db()
        assert target.status == "open"


def test_bulk_assign_across_sites_to_a_site_practitioner_changes_nothing(personas, queue):
    with tenancy.scope(personas.org):
        chosen = [item("C-N1").pk, item("C-S1").pk]
    response = personas.client(personas.admin).post(
        url(personas, "exception_bulk"),
        {"items": chosen, "action": "assign", "assignee": staff_key(queue["ana"])},
        follow=True,
    )
    assert "Ana Practitioner (Practitioner) does not work at South" in response.content.decode()
    with tenancy.scope(personas.org):
        assert set(
            ExceptionItem.objects.filter(pk__in=chosen).values_list("status", flat=True)
        ) == {"open"}


def test_bulk_assign_to_a_practitioner_names_them(personas, queue):
    with tenancy.scope(personas.org):
        chosen = [item("C-N1").pk, item("C-N2").pk]
    response = personas.client(personas.supervisor).post(
        url(personas, "exception_bulk"),
        {"items": chosen, "action": "assign", "assignee": staff_key(queue["ana"])},
        follow=True,
    )
    assert "2 exceptions assigned to Ana Practitioner (Practitioner)." in (
        response.content.decode()
    )


def test_a_staff_member_who_has_not_started_is_not_offered(personas, queue, wf):
    with tenancy.scope(personas.org):
        starter = person(
            personas, wf["team"], "Nia Newstart", start=date.today() + timedelta(days=7)
        )
    response = personas.client(personas.admin).get(url(personas))
    offered = {p.key for p in response.context["assignees"]}
    assert staff_key(starter) not in offered
    assert staff_key(queue["ana"]) in offered


def test_clinical_leads_and_supervisors_on_the_staff_list_are_offered_too(personas, queue, wf):
    with tenancy.scope(personas.org):
        lead = person(personas, wf["team"], "Cleo Lead", role=StaffRole.CLINICAL_LEAD)
        assert lead.start_date == LONG_AGO
    response = personas.client(personas.admin).get(url(personas))
    assert staff_key(lead) in {p.key for p in response.context["assignees"]}


def test_the_pickers_people_read_as_columns_are_those_read_as_records(personas, queue):
    """The queue reads its assignees as a few columns (every page asks); each must be the
    person ``assignee_find`` builds from the whole record."""
    from pathways.assignees import assignee_find, assignees_for_sites

    with tenancy.scope(personas.org):
        people = assignees_for_sites([personas.north.pk, personas.south.pk])
        assert {person.key for person in people} >= {staff_key(s) for s in queue.values()}
        assert user_key(personas.supervisor) in {person.key for person in people}
        assert people == [assignee_find(person.key) for person in people]


def test_the_assign_pickers_options_are_written_as_the_template_wrote_them():
    """The picker's options are written in Python; the bytes are those of the template they
    replace: an optgroup per run of one group, the chosen person, the case's practitioner."""
    from django.template import Context, Template

    from pathways.assignees import Assignee
    from pathways.queue_rows import assignee_options_html

    template = Template(
        "{% regroup people by group as groups %}{% for group in groups %}"
        '<optgroup label="{{ group.grouper }}">{% for person in group.list %}'
        '<option value="{{ person.key }}"{% if person.key == selected %} selected{% endif %}>'
        "{{ person.name }}{% if person.key == owner %} · case practitioner{% endif %}</option>"
        "{% endfor %}</optgroup>{% endfor %}"
    )
    people = [
        Assignee(key="user:1", name="Ann <A&B>", group="Supervisors, leads and admins"),
        Assignee(key="staff:2", name='Bo "B" (Practitioner)', group="Staff at North & Co"),
        Assignee(key="staff:3", name="Cy (Practitioner)", group="Staff at North & Co"),
        Assignee(key="staff:4", name="Di (Practitioner)", group="Staff at South"),
    ]
    for selected, owner in (("", ""), ("staff:3", "staff:3"), ("user:1", "staff:2")):
        expected = template.render(
            Context({"people": people, "selected": selected, "owner": owner})
        )
        assert assignee_options_html(people, selected=selected, owner=owner) == expected
    assert assignee_options_html([]) == ""


def test_the_pickers_written_out_reads_are_the_orms(personas, queue, wf):
    """Staff in post today (not a starter of tomorrow, not one who left today, one who leaves
    tomorrow), each site's own, in site-code and name order; members with a write role of the
    bound organisation only, by username: as the ORM's querysets read them."""
    from django.utils import timezone

    from pathways.assignees import _assignee, _members, _write_members
    from scaling_ops import services
    from scaling_ops.models import Role
    from tests.factories import UserFactory
    from workforce.assignees import _in_post, _staff_assignee, staff_at_sites

    today = timezone.localdate()
    with tenancy.scope(personas.org):
        person(personas, wf["team"], "Amy Starter", start=today + timedelta(days=1))
        staff_update(staff=person(personas, wf["team"], "Al Leaver"), left_on=today)
        staff_update(
            staff=person(personas, wf["team"], "Aba Leaving"), left_on=today + timedelta(1)
        )
        sol_two = person(personas, None, "Sol South")
        staff_update(staff=sol_two, site=personas.south)
        services.membership_set(
            user=UserFactory(username="aaron"), organization=personas.org, role=Role.SUPERVISOR
        )
        services.membership_set(
            user=UserFactory(username="abe"), organization=personas.other_org, role=Role.ORG_ADMIN
        )
        for site_ids in (
            [personas.north.pk],
            [personas.south.pk],
            [personas.north.pk, personas.south.pk],
            [],
        ):
            staff = _in_post().filter(site_id__in=site_ids).order_by("site__code", "name", "pk")
            columns = ("pk", "name", "role", "site_id", "site__name")
            assert staff_at_sites(site_ids) == [
                _staff_assignee(*row) for row in staff.values_list(*columns)
            ]
        names = [p.name for p in staff_at_sites([personas.north.pk, personas.south.pk])]
        assert "Aba Leaving (Practitioner)" in names and "Amy Starter (Practitioner)" not in names
        assert "Al Leaver (Practitioner)" not in names
        members = _write_members().order_by("user__username")
        assert _members([]) == [_assignee(m.user_id, m.user.get_username()) for m in members]
        assert [p.name for p in _members([])][:1] == ["aaron"]
        assert "abe" not in {p.name for p in _members([])}
        assert "cora" not in {p.name for p in _members([])}
    with tenancy.isolated(), pytest.raises(tenancy.TenantNotBound):
        staff_at_sites([personas.north.pk])
    with tenancy.isolated(), pytest.raises(tenancy.TenantNotBound):
        _members([])
