"""Where a run's metrics and report go: checked before connecting, so a path that cannot be
written is refused while nothing has been done."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gordon_migrate.core.errors import ConfigError


def check_writable(path: Path, option: str) -> None:
    """Refuse ``path`` unless a file can be created beside it (the write is a rename)."""
    where = f"{option} {path}"
    if path.is_dir():
        raise ConfigError(f"{where} is a directory: name a file in it; nothing was run")
    directory = path.parent
    if not directory.is_dir():
        raise ConfigError(
            f"{where}: the directory {directory} does not exist (or is not a directory); "
            "create it or choose another path; nothing was run"
        )
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"{where} cannot be written: {exc.strerror or exc} in {directory}; "
            "choose a writable directory; nothing was run"
        ) from None


def write_atomically(path: Path, text: str, *, option: str, mode: int | None = None) -> None:
    """``text`` into ``path`` through a temporary file beside it and a rename: a reader
    (node_exporter, an operator's tool) never sees half a file. ``mode``: its permissions."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            if mode is not None:
                Path(tmp).chmod(mode)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise ConfigError(
            f"cannot write {option} {path}: {exc.strerror or exc}; the run itself is "
            f"unaffected. Point {option} at a writable directory"
        ) from None
