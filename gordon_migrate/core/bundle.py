"""The migration catalogue: ``NNNN_description.sql`` files, read exactly as sqlx reads them.

A file's name is read by ``parse_name`` (``draft_name`` for a file outside the bundle), its
header by ``Migration`` itself: ``no_transaction``, the ``-- gordon:NAME DURATION``
directives that override apply's timeouts for it, and the ``-- gordon:allow RULE-ID reason``
waivers lint honours. Each is read once, on first use rather than by ``load``: a directive
that cannot be read is refused by apply for a migration it will run, not by ``status`` or by
an apply that has it applied already, and the no-op apply reads no header but the first line.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gordon_migrate.core.durations import parse_ms
from gordon_migrate.core.errors import BundleError
from gordon_migrate.sql.split import comment_end

NO_TRANSACTION_MARKER = "-- no-transaction"
MAX_VERSION = 2**63 - 1  # the history's version column is a bigint, as in sqlx

#: The header directives (``-- gordon:lock-timeout 2s``), each followed by a duration: apply's
#: timeouts, and the longest predicted hold of a blocking lock apply accepts (``lock-hold-budget``).
DIRECTIVES = ("lock-timeout", "statement-timeout", "lock-retry-window", "lock-hold-budget")

_DIRECTIVE = re.compile(r"^--\s*gordon:([a-z-]+)\s*[=\s]\s*(\S+)\s*$")
_DIRECTIVE_LEAD = re.compile(r"^--\s*gordon:")
_WAIVER_LEAD = re.compile(r"^--\s*gordon:allow\b")
_WAIVER = re.compile(r"--\s*gordon:allow\b[ \t]*(?P<rule>[A-Za-z0-9_-]*)[ \t]*(?P<reason>[^\r\n]*)")


@dataclass(frozen=True)
class Waiver:
    """A ``-- gordon:allow RULE-ID reason`` comment, anywhere in the file: lint waives that
    rule's finding on the statement it sits on or above (and reports a waiver that names no
    rule, gives no reason or waives nothing)."""

    rule: str
    """As written: maybe empty, maybe no rule at all."""
    reason: str
    """Stripped; empty when none is given."""
    start: int
    """Character offset in ``Migration.parser_text``."""
    line: int
    col: int


@dataclass(frozen=True)
class Migration:
    """One migration file: version and description from the name, checksum of the bytes."""

    version: int
    description: str
    path: Path
    data: bytes

    @cached_property
    def sql(self) -> str:
        return self.data.decode("utf-8")

    @cached_property
    def checksum(self) -> bytes:
        """SHA-384 of the exact file bytes, as sqlx stores it."""
        return hashlib.sha384(self.data).digest()

    @cached_property
    def no_transaction(self) -> bool:
        """Its first line is ``-- no-transaction`` (exactly: sqlx's marker)."""
        return self.sql.startswith(NO_TRANSACTION_MARKER)

    @cached_property
    def directives(self) -> Mapping[str, int]:
        """The header's overrides of apply's timeouts, in milliseconds by directive name
        (``{"lock-timeout": 2000}``): ``-- gordon:NAME DURATION`` lines among the leading
        comment lines. A directive that cannot be read (an unknown name, no duration) raises
        ``BundleError``, a bad duration ``ConfigError``, each time it is asked for: apply asks,
        before any lock, for the migrations it will run; nothing else does."""
        return _read_directives(self)

    @cached_property
    def parser_text(self) -> str:
        """The text as a parser reads it: a leading byte order mark dropped, NUL bytes as
        blanks (``load`` refuses both; ``lint FILE`` reads such a file and reports them), so
        that waivers and statements are found at the same offsets."""
        return self.sql.replace("\x00", " ").removeprefix("\ufeff")

    @cached_property
    def waivers(self) -> tuple[Waiver, ...]:
        """Every ``-- gordon:allow`` comment of the file, in order."""
        text = self.parser_text
        out = []
        for match in _WAIVER.finditer(text):
            start = match.start()
            line = text.count("\n", 0, start) + 1
            col = start - (text.rfind("\n", 0, start) + 1) + 1
            reason = match["reason"].strip()
            out.append(Waiver(rule=match["rule"], reason=reason, start=start, line=line, col=col))
        return tuple(out)

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """``0012 (0012_orders_client_id.sql)``: how messages name a migration."""
        return f"{self.version:04d} ({self.filename})"


def bundled_path(*parts: str) -> Path:
    """A file or folder the wheel bundles (``migrations``, ``fixtures``, ``docs/...``): in the
    installed package, or, in a source checkout, at the top of the repository."""
    # The wheel installs the package as plain files; importlib.resources would cost ~7 ms of
    # imports on every run for the same answer.
    here = Path(__file__).resolve().parent.parent  # the package: core/ is one floor down
    packaged = here.joinpath("_bundle", *parts)
    return packaged if packaged.exists() else here.parent.joinpath(*parts)


def bundled_dir() -> Path:
    """The migrations shipped with the package."""
    return bundled_path("migrations")


def load(directory: Path | None = None) -> list[Migration]:
    """Every migration in ``directory`` (default: the bundle), sorted by version.

    Refuses, before anything connects, a bundle that sqlx would refuse or that would apply
    something other than what the file says: a ``.sql`` entry whose name is not UTF-8 or does
    not parse, or whose version is not 1..2^63-1 in ASCII digits, a reversible
    ``.up.sql``/``.down.sql`` pair (not supported), a duplicate version, a ``.sql`` entry that
    is not a readable regular file, a file that is not UTF-8, starts with a byte order mark,
    holds a NUL byte or has no statement, and a directory without any migration.
    """
    root = directory if directory is not None else bundled_dir()
    if not root.is_dir():
        raise BundleError(f"migrations directory {root} does not exist")
    by_version: dict[int, Migration] = {}
    for path in sorted(root.iterdir()):
        if path.suffix != ".sql":
            continue
        version, description = parse_name(path.name, root)
        data = _read_regular_file(path)
        _check_content(path.name, data)
        migration = Migration(version=version, description=description, path=path, data=data)
        if version in by_version:
            raise BundleError(
                f"duplicate migration version {version}: {by_version[version].filename} and "
                f"{path.name}; every version must be unique"
            )
        by_version[version] = migration
    if not by_version:
        raise BundleError(
            f"no migrations in {root}: expected NNNN_description.sql files; check "
            "--migrations-dir (an empty bundle would pass the gate while migrating nothing)"
        )
    return [by_version[v] for v in sorted(by_version)]


def _read_directives(migration: Migration) -> dict[str, int]:
    directives: dict[str, int] = {}
    for line in migration.sql.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        if not _DIRECTIVE_LEAD.match(stripped) or _WAIVER_LEAD.match(stripped):
            continue  # a plain comment, or a lint waiver
        match = _DIRECTIVE.match(stripped)
        if match is None or match[1] not in DIRECTIVES:
            known = ", ".join(f"gordon:{name}" for name in DIRECTIVES)
            raise BundleError(
                f"migration {migration.label}: cannot read the header directive "
                f"{stripped!r}; known: {known}, each followed by a duration "
                "(e.g. `-- gordon:lock-timeout 2s`). Nothing was run"
            )
        directives[match[1]] = parse_ms(match[2], f"{migration.filename}: gordon:{match[1]}")
    return directives


def parse_name(name: str, root: Path) -> tuple[int, str]:
    """Version and description of ``NNNN_description.sql``, as sqlx reads them (the version
    is what precedes the first ``_``), but stricter where sqlx would accept a mistake; a
    ``BundleError`` naming ``root`` says what is wrong."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # sqlx would read it lossily; the history's description could not even be stored.
        raise BundleError(
            f"migration file name {os.fsencode(name)!r} in {root} is not valid UTF-8; rename it"
        ) from None
    prefix, _, rest = name.partition("_")
    if not rest.endswith(".sql") or rest == ".sql" or name.endswith((".up.sql", ".down.sql")):
        raise BundleError(
            f"malformed migration file name {name!r} in {root}: expected "
            "NNNN_description.sql (forward-only); rename or remove it"
        )
    if not (prefix.isascii() and prefix.isdigit()):
        # sqlx parses the version with Rust's i64::from_str: ASCII digits only, so it refuses
        # fullwidth or Arabic-Indic digits (which Python's int() reads). It accepts a sign
        # ('+39', '-39'), which a NNNN bundle never means: a sign is refused here too.
        if prefix.isdigit():
            what = "is not written in ASCII digits 0-9"
        elif prefix[:1] in ("+", "-") and prefix[1:].isascii() and prefix[1:].isdigit():
            what = "has a sign"
        else:
            what = "is not a number"
        raise BundleError(
            f"malformed migration file name {name!r} in {root}: the version {prefix!r} {what}; "
            "expected NNNN_description.sql, rename it"
        )
    significant = prefix.lstrip("0")
    # Compare lengths first: int() of a very long string is slow or refused.
    if not significant or len(significant) > len(str(MAX_VERSION)) or int(prefix) > MAX_VERSION:
        raise BundleError(
            f"migration file name {name!r} in {root}: version {prefix} is outside "
            f"1..{MAX_VERSION} (the history's version column is a bigint); rename it"
        )
    return int(prefix), _description(rest)


def draft_name(name: str) -> tuple[int, str]:
    """Version and description of a file outside the bundle (``lint FILE``), read leniently:
    a name ``parse_name`` would refuse still gets its digits before the first ``_`` as the
    version, and a name without them version 0 and its stem as the description."""
    prefix, _, rest = name.partition("_")
    if prefix.isdecimal() and rest.endswith(".sql") and rest != ".sql":
        return int(prefix), _description(rest)
    return 0, Path(name).stem.replace("_", " ")


def _description(rest: str) -> str:
    """What follows the version's ``_``: the history's description (``orders client id``)."""
    return rest.removesuffix(".sql").replace("_", " ")


def _read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, which must be (a symlink to) a readable regular file.

    Checked with stat before opening: opening a FIFO for reading would block until a writer
    comes. O_NONBLOCK and the fstat of the opened file close the race of an entry replaced
    between the two.
    """
    name = path.name
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.is_symlink():
            raise BundleError(f"migration {name} disappeared while it was read") from None
        raise BundleError(
            f"migration {name} is a symlink to {str(path.readlink())!r}, which does not "
            "exist; fix the link or remove it"
        ) from None
    except OSError as exc:
        raise BundleError(f"migration {name} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise BundleError(
            f"migration {name} is {_kind(mode)}, not a regular file; replace or remove it"
        )
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise BundleError(
                    f"migration {name} is {_kind(mode)}, not a regular file; replace or remove it"
                )
            return file.read()
    except OSError as exc:
        raise BundleError(f"migration {name} cannot be read: {exc.strerror}") from None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _check_content(name: str, data: bytes) -> None:
    """Refuse what would reach the server as something other than the file's SQL."""
    if data.startswith(codecs.BOM_UTF8):
        raise BundleError(
            f"migration {name} starts with a UTF-8 byte order mark: the server would get it "
            "(a syntax error, and it hides a '-- no-transaction' first line); save the file as "
            "UTF-8 without BOM"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(f"migration {name} is not valid UTF-8: {exc}") from None
    nul = text.find("\0")
    if nul >= 0:
        raise BundleError(
            f"migration {name} contains a NUL byte (line {text.count(chr(10), 0, nul) + 1}): "
            "the server would silently ignore everything after it; remove it"
        )
    if not has_statement(text):
        raise BundleError(
            f"migration {name} has no statement (only whitespace and comments): it would be "
            "recorded as applied while changing nothing; add its SQL or remove the file"
        )


_BLANK = frozenset(" \t\n\r\f\v;")  # the server's whitespace, and empty statements


def has_statement(sql: str) -> bool:
    """True when ``sql`` holds at least one statement, by the server's own lexical rules.

    Exact without a parser: up to the first token, the only things a statement-free text can
    hold are whitespace, ``--`` line comments, nested ``/* */`` comments and ``;`` (empty
    statements). Anything else starts a statement (maybe a wrong one: the server reports it).
    Keeps pglast (about 20 ms of imports) off the no-op path.
    """
    i, n = 0, len(sql)
    while i < n:
        if sql[i] in _BLANK:
            i += 1
        elif (end := comment_end(sql, i)) is not None:
            i = end
        else:
            return True
    return False
