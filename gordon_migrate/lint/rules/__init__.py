"""The rules, one module each (``<rule id with underscores>.py``: its id, severity, summary, why,
safe rewrite, check and cases). Adding a rule is adding a module here: ``registry()`` finds it.

The registry is built on first use, not at import: the rule modules load pglast, which the
plain ``apply`` path must not pay for (only ``SMALL_TABLE_*`` is read there).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from gordon_migrate.core.errors import InternalError
from gordon_migrate.lint.rules._base import (
    Check,
    Facts,
    Hit,
    Rule,
    Site,
    SiteKind,
    existing_locks,
)

__all__ = [
    "SMALL_TABLE_BYTES",
    "SMALL_TABLE_ROWS",
    "Check",
    "Facts",
    "Hit",
    "Rule",
    "Site",
    "SiteKind",
    "build",
    "discover",
    "existing_locks",
    "registry",
]

# Live-size thresholds (``--database-url``): a table below BOTH is "small", and a lock or
# rewrite hazard on it is a warning instead of an error. 10 000 rows or 16 MiB rewrite in well
# under a second on the production hardware, so readers queued behind the lock stall that
# long at most. (apply's lock_timeout, 100 ms per attempt, bounds the wait for a lock, not how
# long a rewrite then holds it.)
SMALL_TABLE_ROWS = 10_000
SMALL_TABLE_BYTES = 16 * 1024 * 1024


def build(rules: list[tuple[str, Rule]]) -> dict[str, Rule]:
    """``(module name, rule)`` pairs -> the registry, in ``order``; refuses a duplicate id or
    order, and a module whose name is not its rule's id."""
    by_id: dict[str, Rule] = {}
    by_order: dict[int, str] = {}
    for module, rule in rules:
        if module != rule.id.replace("-", "_"):
            raise InternalError(
                f"lint rule module {module}.py defines rule {rule.id!r}: name the module "
                f"{rule.id.replace('-', '_')}.py"
            )
        if rule.id in by_id:
            raise InternalError(f"lint rule id {rule.id!r} is defined twice")
        if rule.order in by_order:
            raise InternalError(
                f"lint rules {by_order[rule.order]!r} and {rule.id!r} have the same order "
                f"{rule.order}: give {rule.id} a free one"
            )
        if rule.check is not None and not rule.sites:
            raise InternalError(f"lint rule {rule.id!r} has a check but listens to no site")
        by_id[rule.id] = rule
        by_order[rule.order] = rule.id
    return dict(sorted(by_id.items(), key=lambda item: item[1].order))


@cache
def registry() -> dict[str, Rule]:
    """Every rule of this package, by id, in ``order``."""
    return discover(__path__[0], __name__)


def discover(folder: str, package: str) -> dict[str, Rule]:
    """The ``RULE`` of every module of ``package`` (at ``folder``), as ``build`` checks them."""
    found: list[tuple[str, Rule]] = []
    for info in pkgutil.iter_modules([folder]):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        rule = getattr(module, "RULE", None)
        if not isinstance(rule, Rule):
            raise InternalError(f"lint rule module {info.name}.py has no RULE = Rule(...)")
        found.append((info.name, rule))
    return build(found)
