"""What a dirty history row (``success = false``) means: one text for every place that
reports one (apply and status, diagnose, repair, the TUI's repair dialog).

A no-transaction migration writes its row dirty before its first statement and marks it clean
after its last, so a dirty row means it stopped part-way. A transactional migration writes its
row, clean, in the same transaction as its statements: this tool never leaves it dirty, so
another writer did, and nothing says which of its statements took effect.
"""

from __future__ import annotations

from gordon_migrate.apply.history import HISTORY_TABLE

RUNBOOK = "docs/spof-runbook.md, dirty migration"


def cause(no_transaction: bool) -> str:
    """Why the row is dirty, as far as can be known."""
    if no_transaction:
        return (
            "it is a no-transaction migration that failed or was interrupted part-way: the "
            "statements before the one that stopped may have taken effect"
        )
    return (
        "it runs in a transaction, and gordon-migrate writes its history row in that same "
        "transaction as success = true, so this tool never leaves such a row: something else "
        f"wrote it (another migration tool, a manual edit of {HISTORY_TABLE}, a restore "
        "of a partial dump)"
    )


def next_step(version: int, no_transaction: bool) -> str:
    """What the operator does before ``repair``, and which ``repair``."""
    if no_transaction:
        return (
            "Finish or undo its statements by hand, then mark it with "
            f"`gordon-migrate repair {version}` (finished) or "
            f"`gordon-migrate repair {version} --undone` (undone)"
        )
    return (
        "Find out who wrote the row, and check whether the migration's changes are in the "
        "database (compare with its file); then mark it with "
        f"`gordon-migrate repair {version}` if they all are, or "
        f"`gordon-migrate repair {version} --undone` if none are (undo a partial one by hand "
        "first)"
    )
