"""The environment the suite runs in, whatever the shell exports: the embedded defaults (DEBUG on,
the development key, local host names), with DATABASE_URL and REDIS_URL still chosen by the caller.

Django's settings read the environment once, when pytest-django loads them in its
``pytest_load_initial_conftests``; a conftest is too late, so this is a plugin loaded with
``-p tests.environment`` (pyproject's addopts) whose hook runs first (pytest-django's
"Changing your app before Django gets set up"). Tests of the production settings start their
own processes with their own environment."""

import os

import pytest

TEST_ENVIRONMENT = {"DEBUG": "1"}
# Production values a shell may hold that would change what the suite's requests see.
IGNORED = (
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "STATIC_ROOT",
    "TRUSTED_PROXY_COUNT",
)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    for name in IGNORED:
        os.environ.pop(name, None)
    os.environ.update(TEST_ENVIRONMENT)
