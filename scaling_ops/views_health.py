"""Liveness and readiness for probes: no login, no tenant, JSON, never cached."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from scaling_ops import health


@never_cache
@require_safe
def healthz(request):
    # Liveness only: the process answers. Dependencies are /readyz/'s job, so a database
    # outage does not get every web process restarted.
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_safe
def readyz(request):
    problems = {name: problem for name, problem in health.readiness().items() if problem}
    if problems:
        return JsonResponse({"status": "not ready", "failed": problems}, status=503)
    return JsonResponse({"status": "ready"})
