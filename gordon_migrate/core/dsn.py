"""DSN resolution and redaction: a password never reaches a log line or an error message.

What "parsed unambiguously" means here (``parse`` refuses anything else, as FM-02):

- A URL (``postgres://`` or ``postgresql://``) is read by libpq's parser, which ends the
  userinfo at the first ``@`` unless a ``/`` comes first, and does not know ``#``. Other URL
  parsers (the Rust tool's, a proxy's, a human's) end it at the *last* ``@`` of the authority
  and cut at ``#`` and ``?``. The two readings agree only when the userinfo holds none of
  ``@ / ? # [ ]`` and the rest of the URL before its query string holds no ``@`` or ``#``.
  When they disagree, the password's position is unknown, so no part of the userinfo (user
  name included) is ever printed: ``postgresql://***@HOST...`` keeps only what follows the last
  ``@``. A URL without ``@`` whose port is not a number (``postgresql://user:secret/db``) is
  refused the same way: its "port" may be a password.
- A key=value string is read by libpq's parser, which has one reading; when it fails
  (``password=two words``, an unterminated quote), nothing of the string is printed, not even
  libpq's message (it quotes the string).
- Every ``port`` must be a number from 1 to 65535 (a configuration error that names the port,
  not a connection failure blamed on the host).

Redaction fails closed: the redacted form is rebuilt from the parsed parts with every
password-like value (``password``, ``sslpassword``) replaced by ``***``; free text (``scrub``)
masks every URL's userinfo through its last ``@``, a ``password=`` value through the next
``key=`` or the end, and every password this process has seen (the DSN's, ``PGPASSWORD``, the
service file's).
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gordon_migrate.core.errors import ConfigError

REDACTED = "***"
EXAMPLE = "postgresql://USER@HOST:PORT/DBNAME or 'host=... dbname=...'"

_SCHEME = re.compile(r"^(postgres(?:ql)?://)", re.IGNORECASE)
# A URL in free text: up to whitespace or a quote.
_URL_TOKEN = re.compile(r"postgres(?:ql)?://[^\s'\"<>]*", re.IGNORECASE)
# key=value: a quoted value (to its closing quote, or the end when unterminated), else
# everything up to the next ``key=`` or the end: an unquoted password may hold spaces.
# Not after ``?`` or ``&``: a URL's query was masked by the URL rule. An already masked value
# (``***``) ends there, so a message after a redacted DSN survives.
_KV_PASSWORD = re.compile(
    r"((?<![?&\w])(?:ssl)?password\s*=\s*)"
    r"(\*\*\*(?![^\s;,)])|'(?:[^'\\\n]|\\.)*'?|[^\n]*?(?=\s+\w+\s*=|\n|$))",
    re.IGNORECASE,
)
_QUERY_SECRET = re.compile(r"((?:^|[?&])(?:ssl)?password=)[^&]*", re.IGNORECASE)
_SECRET_KEYS = ("password", "sslpassword")
_USERINFO_FORBIDDEN = "@/?#[]"
# One host of a URL's authority: a name, address or [IPv6], and a numeric port if any.
_HOST_PORT = re.compile(r"^(?:\[[^\]]*\]|[^:\[\]]*)(?::\d*)?$")


@dataclass(frozen=True)
class Dsn:
    """A validated connection string and its redacted form."""

    value: str
    redacted: str
    password: str | None
    network_timeout_s: float = 30.0
    """How long any connection but apply's may take over its whole work before the server
    counts as silent (``--network-timeout``; 0 disables). Apply bounds each round trip by its
    statement_timeout instead."""

    def scrub(self, text: str) -> str:
        """Remove this DSN's password, and any DSN-shaped password, from ``text``."""
        return scrub(text, self.password)


# Every password this process has parsed: scrubbed from any text, wherever it turns up.
_KNOWN_PASSWORDS: set[str] = set()


def _remember(secret: str | None) -> None:
    # Very short passwords would shred every message; DSN-shaped ones are still redacted.
    if secret and len(secret) >= 4:
        _KNOWN_PASSWORDS.add(secret)


def one_line(text: str) -> str:
    """Collapse a message (libpq adds newlines and tabs) onto one line, for an error line."""
    return re.sub(r"\s+", " ", text).strip()


def scrub(text: str, password: str | None = None) -> str:
    """Redact passwords from free text: DSN-shaped ones, and every known password."""
    text = _URL_TOKEN.sub(lambda m: _redact_url_text(m.group(0)), text)
    text = _KV_PASSWORD.sub(lambda m: m.group(1) + REDACTED, text)
    extra = {password} if password and len(password) >= 4 else set()
    for secret in sorted(_KNOWN_PASSWORDS | extra, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _split_url(value: str) -> tuple[str, str | None, str, str]:
    """``(scheme, userinfo as libpq reads it, rest before the query, query)``."""
    match = _SCHEME.match(value)
    assert match is not None
    scheme = match.group(1)
    rest = value[len(scheme) :]
    at, slash = rest.find("@"), rest.find("/")
    userinfo: str | None = None
    if at >= 0 and (slash < 0 or at < slash):
        userinfo, rest = rest[:at], rest[at + 1 :]
    before, _, query = rest.partition("?")
    return scheme, userinfo, before, query


def _url_problem(value: str) -> str | None:
    """Why libpq and other URL parsers could read this URL's userinfo differently, if so."""
    _scheme, userinfo, before, _query = _split_url(value)
    if userinfo is not None and any(c in userinfo for c in _USERINFO_FORBIDDEN):
        found = sorted({c for c in userinfo if c in _USERINFO_FORBIDDEN})
        return f"the user or password holds an unescaped {' '.join(found)}"
    if "@" in before:
        return (
            "it has more than one '@', or an '@' after a '/': a password holds an unescaped @ or /"
        )
    if "#" in before:
        return "it holds an unescaped '#'"
    return None


def _redact_url_text(token: str) -> str:
    """A URL with its userinfo masked; fails closed on URLs libpq would read otherwise."""
    token = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, token)
    match = _SCHEME.match(token)
    assert match is not None
    scheme = match.group(1)
    rest = token[len(scheme) :]
    if _url_problem(token) is None:
        userinfo = _split_url(token)[1]
        if userinfo is None:
            authority = re.split(r"[/?]", rest, maxsplit=1)[0]
            if all(_HOST_PORT.match(part) for part in authority.split(",")):
                return token
            # ``user:secret/db`` without '@': libpq reads a host and a "port" (the password).
            return f"{scheme}{REDACTED}{rest[len(authority) :]}"
        user, colon, _ = userinfo.partition(":")
        shown = f"{user}:{REDACTED}" if colon else user
        return f"{scheme}{shown}@{rest[len(userinfo) + 1 :]}"
    # Whatever precedes the last '@' may be password, under some reading.
    if "@" in rest:
        return f"{scheme}{REDACTED}@{rest.rpartition('@')[2]}"
    return f"{scheme}{REDACTED}"


def _check_ports(params: Mapping[str, object], url_without_userinfo: bool) -> None:
    port = str(params.get("port") or "")
    for part in (p.strip() for p in port.split(",")):
        if part and not (part.isdigit() and 1 <= int(part) <= 65535):
            if url_without_userinfo:
                raise ConfigError(
                    "malformed database URL: its port is not a number from 1 to 65535 (not "
                    "shown: with no '@' in the URL, this 'port' may be a password after a "
                    "user name, and the host missing); expected " + EXAMPLE,
                    failure_mode="FM-02",
                )
            raise ConfigError(
                f"malformed database URL: port {part!r} is not a number from 1 to 65535; fix "
                "the port (e.g. 5432) in DATABASE_URL",
                failure_mode="FM-02",
            )


def _unparseable(shown: str, how: str) -> ConfigError:
    return ConfigError(
        f"malformed database URL {shown}: {how}; expected "
        f"{EXAMPLE}. Percent-encode the password (@ as %40, / as %2F, # as %23, ? as %3F) or "
        "use the key=value form with the password quoted",
        failure_mode="FM-02",
    )


def parse(value: str) -> Dsn:
    """Validate a DSN (URL or key=value) without connecting; refuse an ambiguous one."""
    if not value.strip():
        raise ConfigError(
            "the database URL is empty: set --database-url or DATABASE_URL "
            "(e.g. postgresql://gordon_migrator@db:5432/gordon), or use --embedded",
            failure_mode="FM-01",
        )
    is_url = _SCHEME.match(value) is not None
    if is_url:
        problem = _url_problem(value)
        if problem is not None:
            raise ConfigError(
                f"malformed database URL {_redact_url_text(value)!r}: {problem}, so the "
                "password's end is ambiguous (libpq reads up to the first '@'); expected "
                f"{EXAMPLE}. Percent-encode the password (@ as %40, / as %2F, # as %23, ? as "
                "%3F)",
                failure_mode="FM-02",
            )
    # libpq's parser, imported where a DSN is parsed: a command that never connects (a static
    # lint, --help) does not pay for psycopg (~0.1 s).
    import psycopg
    from psycopg import conninfo

    try:
        params = conninfo.conninfo_to_dict(value)
    except psycopg.Error:
        # libpq's message quotes the string (a password fragment, in the worst case): drop it.
        if is_url:  # its userinfo is where the checks above found it: masked
            shown = repr(_redact_url_text(value))
            raise _unparseable(shown, "libpq cannot parse it as a URL") from None
        raise _unparseable(
            "(not shown: it may hold a password)",
            "libpq cannot parse it as key=value pairs (a value with a space must be "
            "quoted: password='...')",
        ) from None
    _check_ports(params, is_url and _split_url(value)[1] is None)
    if is_url:
        _remember((_split_url(value)[1] or "").partition(":")[2] or None)
    for key in _SECRET_KEYS:
        _remember(str(params.get(key) or "") or None)
    _remember_environment(params)
    password = params.get("password")
    password_text = str(password) if password else None
    return Dsn(value=value, redacted=_redacted(value, params, is_url), password=password_text)


def _redacted(value: str, params: Mapping[str, object], is_url: bool) -> str:
    if is_url:
        return _redact_url_text(value)
    from psycopg import conninfo

    shown = {k: (REDACTED if k in _SECRET_KEYS else str(v)) for k, v in params.items()}
    return conninfo.make_conninfo("", **shown)


def _remember_environment(params: Mapping[str, object]) -> None:
    """Passwords libpq takes from outside the DSN: ``PGPASSWORD``, the service file's.

    libpq's own variables, read as libpq reads them at connect time (core/settings.py says
    why they are read here and not there)."""
    _remember(os.environ.get("PGPASSWORD"))
    service = str(params.get("service") or os.environ.get("PGSERVICE") or "")
    if not service:
        return
    files = [
        Path(os.environ["PGSERVICEFILE"])
        if os.environ.get("PGSERVICEFILE")
        else Path.home() / ".pg_service.conf"
    ]
    if os.environ.get("PGSYSCONFDIR"):
        files.append(Path(os.environ["PGSYSCONFDIR"]) / "pg_service.conf")
    for path in files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_section(service):
            for key in _SECRET_KEYS:
                _remember(parser.get(service, key, fallback=None))


def redact(value: str, password: str | None = None) -> str:
    """The DSN with its password replaced by ``***`` (URL and key=value forms)."""
    return scrub(value, password)


def database_name(value: str | None) -> str:
    """The database a DSN names (metric labels), or ``""`` when it cannot be told safely."""
    if not value:
        return ""
    try:
        params = parse(value)
    except ConfigError:
        return ""
    from psycopg import conninfo

    found = conninfo.conninfo_to_dict(params.value)
    return str(found.get("dbname") or found.get("user") or "")
