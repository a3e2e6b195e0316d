"""Workforce fixtures; the browser fixtures come from tests/browser/conftest.py."""

from datetime import date

import pytest

from scaling_ops import tenancy
from tests.browser.conftest import (  # noqa: F401  (fixtures and the report hook)
    chromium,
    log_in,
    page,
    pytest_runtest_makereport,
)
from workforce.models import StaffRole, TrainingModule, WorkforceStandard
from workforce.services import staff_create, team_create, training_module_create

DAY = date(2026, 3, 20)
LONG_AGO = date(2024, 1, 8)


@pytest.fixture
def wf(personas):
    """Bound to the personas' organisation: a standard, two core modules, and North's team
    "Blue" led by a supervisor (linked to the supervisor persona)."""
    with tenancy.scope(personas.org):
        standard = WorkforceStandard.objects.create(
            min_experienced_share=0.5,
            max_practitioners_per_supervisor=3,
            supervision_interval_days=14,
            review_sample_size=3,
        )
        modules = [
            training_module_create(code="fidelity", name="Model fidelity", kind="core"),
            training_module_create(
                code="safeguarding", name="Safeguarding", kind="core", validity_months=12
            ),
        ]
        supervisor = staff_create(
            site=personas.north, name="Sam Supervisor", role=StaffRole.SUPERVISOR,
            experience_band="experienced", start_date=LONG_AGO, user=personas.supervisor,
        )  # fmt: skip
        team = team_create(site=personas.north, name="Blue", supervisor=supervisor)
        yield {
            "standard": standard,
            "modules": modules,
            "supervisor": supervisor,
            "team": team,
            "core": [m for m in modules if m.kind == TrainingModule.Kind.CORE],
        }


def person(personas, team, name, band="experienced", role=StaffRole.PRACTITIONER,
           start=LONG_AGO, **kwargs):  # fmt: skip
    return staff_create(
        site=team.site if team else personas.north, team=team, name=name, role=role,
        experience_band=band, start_date=start, today=kwargs.pop("today", DAY), **kwargs,
    )  # fmt: skip
