"""DSN resolution and redaction: a password never reaches a log line or an error message."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import psycopg
from psycopg import conninfo

from gordon_migrate.errors import ConfigError

REDACTED = "***"

# key=value DSNs and URLs both: password=..., :password@
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)([^@\s]*)(@)", re.IGNORECASE)


@dataclass(frozen=True)
class Dsn:
    """A validated connection string and its redacted form."""

    value: str
    redacted: str
    password: str | None

    def scrub(self, text: str) -> str:
        """Remove this DSN's password, and any DSN-shaped password, from ``text``."""
        return scrub(text, self.password)


# Every password this process has parsed: scrubbed from any text, wherever it turns up.
_KNOWN_PASSWORDS: set[str] = set()


def scrub(text: str, password: str | None = None) -> str:
    """Redact passwords from free text: DSN-shaped ones, and every known password."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = _KV_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    extra = {password} if password and len(password) >= 4 else set()
    for secret in sorted(_KNOWN_PASSWORDS | extra, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def parse(value: str) -> Dsn:
    """Validate a DSN (URL or key=value) without connecting."""
    if not value.strip():
        raise ConfigError(
            "the database URL is empty: set --database-url or DATABASE_URL "
            "(e.g. postgresql://gordon_migrator@db:5432/gordon), or use --embedded"
        )
    try:
        params = conninfo.conninfo_to_dict(value)
    except psycopg.Error as exc:  # its text may quote the DSN: scrubbed below
        raise ConfigError(
            f"malformed database URL {scrub(value)!r}: {scrub(str(exc).strip())}; "
            "expected postgresql://USER@HOST:PORT/DBNAME or 'host=... dbname=...'"
        ) from None
    password = params.get("password")
    password_text = str(password) if password else None
    # Very short passwords would shred every message; DSN-shaped ones are still redacted.
    if password_text and len(password_text) >= 4:
        _KNOWN_PASSWORDS.add(password_text)
    return Dsn(value=value, redacted=redact(value, password_text), password=password_text)


def redact(value: str, password: str | None = None) -> str:
    """The DSN with its password replaced by ``***`` (URL and key=value forms)."""
    return scrub(value, password)


def resolve(cli_value: str | None, env: os._Environ[str] | dict[str, str] | None = None) -> Dsn:
    """The DSN from ``--database-url``, else ``DATABASE_URL``; never a guess."""
    environ = os.environ if env is None else env
    value = cli_value if cli_value is not None else environ.get("DATABASE_URL")
    if value is None:
        raise ConfigError(
            "no database given: pass --database-url URL or set DATABASE_URL "
            "(e.g. postgresql://gordon_migrator@db:5432/gordon), or use --embedded "
            "for a local embedded Postgres"
        )
    return parse(value)
