"""gordon-migrate: owns the Gordon v7 Postgres schema."""

import importlib
import sys
from types import ModuleType
from typing import cast

__version__ = "4.0.0"


def _import_structlog_without_rich() -> None:
    """Import structlog with ``rich`` hidden from it.

    ``structlog.dev`` imports rich, when installed (Textual brings it), only to offer rich
    tracebacks, which this tool never renders: that import alone cost about 150 ms, most of a
    one-shot apply's start-up above the driver's own. Hidden for that one import (a ``None``
    entry in ``sys.modules`` makes ``import rich`` fail, which structlog handles), rich stays
    importable for the TUI; if something imported rich first, nothing is hidden.
    """
    if "structlog" in sys.modules or "rich" in sys.modules:
        return
    modules = cast("dict[str, ModuleType | None]", sys.modules)
    modules["rich"] = None
    try:
        importlib.import_module("structlog")
    finally:
        del modules["rich"]


_import_structlog_without_rich()
