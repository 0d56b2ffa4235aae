"""The Textual application: five screens (one per mode), the palette, and the write actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen

from gordon_migrate.apply.resolve import OnTheFly
from gordon_migrate.core.bundle import Migration
from gordon_migrate.core.dsn import Dsn
from gordon_migrate.core.settings import Target
from gordon_migrate.recovery.repair import Action
from gordon_migrate.tui.commands import GordonCommands, PaletteCommand
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.screens.actions import RepairChoiceModal, RepairModal, UnlockModal
from gordon_migrate.tui.screens.apply import ApplyModal
from gordon_migrate.tui.screens.base import ActionModal, DataScreen, LiveView
from gordon_migrate.tui.screens.drift import DriftScreen
from gordon_migrate.tui.screens.grants import GrantsScreen
from gordon_migrate.tui.screens.migrations import MigrationsScreen
from gordon_migrate.tui.screens.overview import OverviewScreen
from gordon_migrate.tui.screens.runbook import RunbookScreen
from gordon_migrate.tui.screens.sessions import SessionsModal
from gordon_migrate.tui.sections import SECTIONS

SCREENS_BY_MODE: dict[str, Callable[[Context], Screen[None]]] = {
    "overview": OverviewScreen,
    "migrations": MigrationsScreen,
    "drift": DriftScreen,
    "grants": GrantsScreen,
    "runbook": RunbookScreen,
}


#: Seconds between refresh cycles of the live screens (``--refresh``).
DEFAULT_REFRESH_S = 2.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


#: Actions that switch screens or open a dialog: not while a dialog is open or a write runs.
WAIT_FOR_DIALOGS = frozenset({"show", "apply", "repair", "unlock", "blockers"})


class GordonApp(App[int]):
    """``gordon-migrate tui``: read-only until the operator confirms an action."""

    CSS_PATH = "app.tcss"
    TITLE = "gordon-migrate"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS: ClassVar = App.COMMANDS | {GordonCommands}
    DEFAULT_MODE = "overview"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(s.key, f"show('{s.mode}')", s.title, show=False) for s in SECTIONS),
        Binding("a", "apply", "Apply"),
        Binding("p", "pause", "Pause"),
        # Shown in the footer of the Runbook, where they belong; they work everywhere.
        Binding("b", "blockers", "Blockers", show=False),
        Binding("x", "repair", "Repair", show=False),
        Binding("u", "unlock", "Unlock", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        target: Dsn,
        bundle: list[Migration],
        fixtures_dir: Path | None = None,
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], datetime] = _utc_now,
        rehearse: OnTheFly | None = None,
    ) -> None:
        super().__init__()
        # Screens get "-narrow" below 110 columns (stacked layouts), "-wide" from 110 on.
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
        self.refresh_s = refresh_s
        self.ticks = 0
        """Refresh timer ticks so far, paused or not (tests wait on it)."""
        self.ctx = Context(
            Target(target, tuple(bundle), fixtures_dir), clock=clock, rehearse=rehearse
        )
        for mode, screen in SCREENS_BY_MODE.items():
            self.add_mode(mode, partial(screen, self.ctx))

    def on_mount(self) -> None:
        if self.refresh_s > 0:
            self.set_interval(self.refresh_s, self.refresh_live)

    # -- live refresh -------------------------------------------------------------------
    def refresh_live(self) -> None:
        """One tick: every live screen in the stack re-reads (the Overview under a dialog
        too, so the lock panel shows this TUI's own running apply as the holder)."""
        self.ticks += 1
        if self.ctx.paused:
            return
        for screen in self.screen_stack:
            if isinstance(screen, LiveView):
                screen.live_refresh()

    def action_pause(self) -> None:
        """p: stop (or resume) refreshing; every panel says so next to its "as of"."""
        self.ctx.paused = not self.ctx.paused
        for screen in self.screen_stack:
            if isinstance(screen, LiveView):
                screen.show_as_of()
        self.notify("Refresh paused: p resumes." if self.ctx.paused else "Refresh resumed.")
        if not self.ctx.paused:
            self.refresh_live()

    # -- navigation ---------------------------------------------------------------------
    def action_show(self, mode: str) -> None:
        if mode in SCREENS_BY_MODE:
            self.switch_mode(mode)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Navigation and writes wait while a dialog is open or a write is running (quit then
        asks to cancel the write instead)."""
        if self.ctx.busy is not None and action in WAIT_FOR_DIALOGS:
            return False
        return not (isinstance(self.screen, ModalScreen) and action in WAIT_FOR_DIALOGS)

    def _cancel_instead(self) -> bool:
        """While a write runs, quitting would abandon it: ask to cancel it instead."""
        if self.ctx.busy is None:
            return False
        current = self.screen
        if isinstance(current, ActionModal):
            current.action_request_cancel()
            return True
        if any(isinstance(screen, ActionModal) for screen in self.screen_stack):
            return True  # the cancel question is already open over it
        self.notify(f"{self.ctx.busy} is running: wait for its result.", severity="warning")
        return True

    async def action_quit(self) -> None:
        if not self._cancel_instead():
            self.exit(0)

    def action_help_quit(self) -> None:
        """ctrl+c: cancels a running write (after asking); otherwise says how to quit."""
        if not self._cancel_instead():
            super().action_help_quit()

    # -- actions ------------------------------------------------------------------------
    def action_apply(self) -> None:
        """Plan, confirm, apply (see ``ApplyModal``)."""
        self.push_screen(ApplyModal(self.ctx))

    def action_repair(self) -> None:
        """Repair a dirty migration (FM-13): choose done/undone, then the guarded repair."""
        self.push_screen(RepairChoiceModal(self.ctx), self._repair_chosen)

    def _repair_chosen(self, choice: tuple[int, Action] | None) -> None:
        if choice is not None:
            self.push_screen(RepairModal(self.ctx, *choice))

    def action_unlock(self) -> None:
        """End the session holding the migration lock (FM-16), after confirmation."""
        self.push_screen(UnlockModal(self.ctx))

    def action_blockers(self) -> None:
        """Sessions holding Gordon table locks (FM-17); end one after confirmation."""
        self.push_screen(SessionsModal(self.ctx))

    def action_reload(self) -> None:
        if isinstance(self.screen, DataScreen):
            self.screen.reload()

    def _rerun_checks(self) -> None:
        if self.current_mode == "runbook" and isinstance(self.screen, DataScreen):
            self.screen.reload()
        else:
            self.switch_mode("runbook")  # a screen shown again re-reads what changed

    def _column_grants(self) -> None:
        if isinstance(self.screen, GrantsScreen):
            self.screen.action_columns()
        else:
            self.switch_mode("grants")

    def _only_differences(self) -> None:
        if isinstance(self.screen, GrantsScreen):
            self.screen.action_mismatches()
        else:
            self.switch_mode("grants")

    def palette_commands(self) -> list[PaletteCommand]:
        commands = [
            PaletteCommand(f"Show {s.title} ({s.key})", s.help, partial(self.action_show, s.mode))
            for s in SECTIONS
        ]
        commands += [
            PaletteCommand("Refresh this screen (r)", "read everything again", self.action_reload),
            PaletteCommand(
                "Pause or resume the live refresh (p)",
                f"the Overview and the blocking sessions re-read every {self.refresh_s:g}s",
                self.action_pause,
            ),
            PaletteCommand(
                "Apply pending migrations (a)",
                "shows the plan and asks before running anything",
                self.action_apply,
            ),
            PaletteCommand(
                "Show column grants of the selected table (c)",
                "on the Grants screen: the table's column grants, expected against actual",
                self._column_grants,
            ),
            PaletteCommand(
                "Show only the grants that differ (m)",
                "on the Grants screen: toggle rows that match the fixtures",
                self._only_differences,
            ),
            PaletteCommand(
                "Re-run the runbook checks",
                "every probe of docs/spof-runbook.md, on the Runbook screen",
                self._rerun_checks,
            ),
            PaletteCommand(
                "Show blocking sessions (b)",
                "sessions holding Gordon table locks (FM-17); end one after confirmation",
                self.action_blockers,
            ),
            PaletteCommand(
                "Repair a dirty migration (x)",
                "FM-13: mark its history row done or undone, after confirmation",
                self.action_repair,
            ),
            PaletteCommand(
                "End the migration lock holder (u)",
                "FM-16: shows the session and the pg_terminate_backend statement first",
                self.action_unlock,
            ),
            PaletteCommand("Quit (q)", "leave the TUI (exit 0)", partial(self.exit, 0)),
        ]
        return commands
