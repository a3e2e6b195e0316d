"""The module-scoped personas (``module_personas``) are shared, yet each test starts from them
alone: what one test writes is undone before the next."""

import pytest

from scaling_ops.models import Site
from tests.factories import SiteFactory


@pytest.fixture
def personas(db, module_personas):
    return module_personas


# One group so that under xdist both runs share a worker, hence one module transaction.
@pytest.mark.xdist_group("module_personas")
@pytest.mark.parametrize("run", ["first", "second"])
def test_a_tests_writes_do_not_reach_the_next_test(personas, run):
    assert Site.dangerously_unscoped.filter(organization=personas.org).count() == 2
    SiteFactory(organization=personas.org, code="east")
    assert Site.dangerously_unscoped.filter(organization=personas.org).count() == 3
