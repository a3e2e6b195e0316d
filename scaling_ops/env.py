"""Typed readers for environment settings that fail loudly on a bad value (after healthchecks)."""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envbool(name: str, default: str) -> bool:
    raw = os.environ.get(name, default).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no.")


def envint(name: str, default: str) -> int:
    raw = os.environ.get(name, default).strip()
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}


def email_settings_from_url(url: str) -> dict:
    """Django's EMAIL_* settings from one ``EMAIL_URL``:
    ``smtp://user:pass@host:587?tls=1`` (STARTTLS), ``smtps://user:pass@host:465`` (implicit
    TLS, or ``?ssl=1``), ``console://`` (mail printed on the console), ``file:///var/mail``
    (one file per message in that folder) or ``locmem://``. A bad URL fails loudly."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _EMAIL_BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_URL scheme {parts.scheme!r} is not one of {', '.join(sorted(_EMAIL_BACKENDS))}"
            " (e.g. smtp://user:pass@mail.example.org:587?tls=1)."
        )
    found: dict = {"EMAIL_BACKEND": _EMAIL_BACKENDS[scheme]}
    if scheme == "file":
        if not parts.path:
            raise ImproperlyConfigured("EMAIL_URL=file:// needs a folder, e.g. file:///var/mail.")
        found["EMAIL_FILE_PATH"] = unquote(parts.path)
        return found
    if scheme not in ("smtp", "smtps"):
        return found
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL needs a host, e.g. smtp://mail.example.org:587.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    flags = {}
    for flag in ("tls", "ssl"):
        raw = query.get(flag, "0").strip().lower()
        if raw not in _TRUE | _FALSE:
            raise ImproperlyConfigured(f"EMAIL_URL's {flag}={raw!r} is not a boolean; use 1 or 0.")
        flags[flag] = raw in _TRUE
    use_ssl = flags["ssl"] or scheme == "smtps"
    if use_ssl and flags["tls"]:
        raise ImproperlyConfigured("EMAIL_URL: choose tls=1 (STARTTLS) or ssl=1, not both.")
    try:
        port = parts.port or (465 if use_ssl else 25)
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL's port is not a number.") from None
    found.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port,
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=flags["tls"],
        EMAIL_USE_SSL=use_ssl,
    )
    return found
