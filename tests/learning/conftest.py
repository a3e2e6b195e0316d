"""Shared learning fixtures: exception items on the small test pathway, assurance's March 2026
month (``assured``), and the browser fixtures."""

from datetime import date

import pytest

from pathways.models import ExceptionItem
from pathways.services.exceptions import exception_report_compute
from scaling_ops import tenancy
from tests.assurance.conftest import assured  # noqa: F401 (a fixture used here)
from tests.browser.conftest import chromium, log_in, page  # noqa: F401 (fixtures used here)
from tests.pathways.exception_helpers import DAY, build_version, overdue_case


@pytest.fixture
def exception_items(personas):
    """An overdue intake at North (ref SECRET-N1) and one at South (SECRET-S1)."""
    with tenancy.scope(personas.org):
        version = build_version()
        overdue_case(version, personas.north, "SECRET-N1")
        overdue_case(version, personas.south, "SECRET-S1")
        exception_report_compute(organization=personas.org, date=DAY)
        items = {item.site.code: item for item in ExceptionItem.objects.select_related("site")}
    return items


@pytest.fixture
def today():
    return date(2026, 11, 23)
