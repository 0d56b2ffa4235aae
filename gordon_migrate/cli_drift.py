"""Click commands for drift-check and fixtures (issue 4); registered by ``cli``."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
