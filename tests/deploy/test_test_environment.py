"""The suite runs with only the README's commands, whatever the shell exports: DEBUG unset (now
production) or a production environment sourced from a .env do not change what it sees
(tests/environment.py sets the suite's own before Django reads its settings)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "tests/deploy/test_health.py::test_liveness_answers_anonymously_and_is_never_cached"


@pytest.mark.parametrize(
    "shell",
    [
        {},
        {
            "DEBUG": "0",
            "ALLOWED_HOSTS": "ops.example.org",
            "SECURE_SSL_REDIRECT": "1",
            "TRUSTED_PROXY_COUNT": "1",
        },
    ],
    ids=["debug-unset", "production-env-sourced"],
)
def test_the_suite_sets_its_own_environment(shell):
    inherited = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", PROBE, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**inherited, **shell},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout
