from django.core.exceptions import ValidationError

from learning.models import LearningSettings
from learning.services.common import record


def learning_settings_update(
    *, pattern_min_sites: int, default_deadline_days: int, by=None
) -> LearningSettings:
    settings = LearningSettings.objects.first() or LearningSettings()
    settings.pattern_min_sites = pattern_min_sites
    settings.default_deadline_days = default_deadline_days
    settings.full_clean(exclude=["organization"])
    if settings.pattern_min_sites < 2:
        raise ValidationError({"pattern_min_sites": "A pattern needs at least two sites."})
    record(settings, by=by, reason="Settings changed")
    settings.save()
    return settings
