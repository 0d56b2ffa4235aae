"""The migration catalogue: ``NNNN_description.sql`` files, read exactly as sqlx reads them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gordon_migrate.errors import BundleError

NO_TRANSACTION_MARKER = "-- no-transaction"
_NAME = re.compile(r"^(?P<version>\d+)_(?P<description>.+)\.sql$")


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

    @property
    def no_transaction(self) -> bool:
        return self.sql.startswith(NO_TRANSACTION_MARKER)

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
    here = Path(__file__).resolve().parent
    packaged = here.joinpath("_bundle", *parts)
    return packaged if packaged.exists() else here.parent.joinpath(*parts)


def bundled_dir() -> Path:
    """The migrations shipped with the package."""
    return bundled_path("migrations")


def load(directory: Path | None = None) -> list[Migration]:
    """Every migration in ``directory`` (default: the bundle), sorted by version.

    Refuses a malformed bundle: a ``.sql`` file whose name does not parse, a reversible
    ``.up.sql``/``.down.sql`` pair (not supported), a duplicate version, a file that is not UTF-8.
    """
    root = directory if directory is not None else bundled_dir()
    if not root.is_dir():
        raise BundleError(f"migrations directory {root} does not exist")
    by_version: dict[int, Migration] = {}
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.suffix != ".sql":
            continue
        match = _NAME.match(path.name)
        if match is None or path.name.endswith((".up.sql", ".down.sql")):
            raise BundleError(
                f"malformed migration file name {path.name!r} in {root}: expected "
                "NNNN_description.sql (forward-only); rename or remove it"
            )
        version = int(match["version"])
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BundleError(f"migration {path.name} is not valid UTF-8: {exc}") from None
        migration = Migration(
            version=version,
            description=match["description"].replace("_", " "),
            path=path,
            data=data,
        )
        if version in by_version:
            raise BundleError(
                f"duplicate migration version {version}: {by_version[version].filename} and "
                f"{path.name}; every version must be unique"
            )
        by_version[version] = migration
    return [by_version[v] for v in sorted(by_version)]
