import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scaling_ops.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: a served process without its secret or host names stops here.
from scaling_ops.health import production_settings_problem  # noqa: E402

if problem := production_settings_problem():
    raise ImproperlyConfigured(problem)
