"""Click commands for diagnose and repair (issue 5); registered by ``cli``."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
