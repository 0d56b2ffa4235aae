"""The operator TUI (``gordon-migrate tui``): a Textual client of the core API.

The only package that imports Textual. Every screen renders what a core function returns;
database work runs in thread workers, each on a connection of its own.
"""

from __future__ import annotations
