"""A year typo on a workforce form is named on the form and nothing is stored: stored, a
completion dated 9999 would overflow the training-expiry arithmetic of the organisation's checks."""

from django.urls import reverse

from scaling_ops import tenancy
from tests.workforce.conftest import person
from workforce.models import TrainingCompletion, WorkforceStandard


def test_a_completion_dated_9999_is_refused_on_the_form(personas, wf):
    with tenancy.scope(personas.org):
        pat = person(personas, wf["team"], "Pat")
    module = wf["modules"][1]  # valid for 12 months: the expiry is computed from the date
    url = reverse("workforce_staff", kwargs={"org": personas.org.slug, "pk": pat.pk})
    response = personas.client(personas.lead).post(
        url, {"module": str(module.pk), "completed_on": "9999-12-01", "evidence": ""}
    )
    assert response.status_code == 200
    assert "Enter a date between 1 Jan 1900 and" in response.content.decode()
    with tenancy.scope(personas.org):
        assert not TrainingCompletion.objects.filter(staff=pat).exists()


def test_a_supervision_interval_of_a_billion_days_is_refused(personas, wf):
    url = reverse("workforce_standards", kwargs={"org": personas.org.slug})
    response = personas.client(personas.admin).post(
        url,
        {
            "min_experienced_share": "0.5",
            "max_practitioners_per_supervisor": "3",
            "supervision_interval_days": "1000000000",
            "review_sample_size": "3",
            "onboarding_days": "30",
        },
    )
    assert response.status_code == 200
    assert "less than or equal to 366" in response.content.decode()
    with tenancy.scope(personas.org):
        assert WorkforceStandard.objects.get().supervision_interval_days == 14
