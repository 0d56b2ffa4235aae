"""The runbook's write actions, each behind a confirmation that shows exactly what will run.

Repair (FM-13) and unlock (FM-16, FM-17) are ``gordon_migrate.recovery``'s own plan and run
functions; the text shown is their ``describe_plan`` / ``describe_outcome``, the same the CLI
prints. As on the CLI, the operator types the version or pid back to confirm.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Static
from textual.worker import Worker

from gordon_migrate.apply import dirty
from gordon_migrate.apply.status import MigrationStatus
from gordon_migrate.core.sessions import Session
from gordon_migrate.recovery import repair, unlock
from gordon_migrate.recovery.repair import Action
from gordon_migrate.tui.context import Context
from gordon_migrate.tui.format import BoundaryWrap
from gordon_migrate.tui.screens.base import ActionModal, GordonModal

P = TypeVar("P")

AUDIT_REASON = "gordon-migrate tui"


class GuardedActionModal(ActionModal, Generic[P]):
    """Plan (read-only) → show the plan and the exact statement → typed confirmation → run →
    outcome. Dismisses with True when something was changed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel / close"),
        Binding("q,ctrl+c", "request_cancel", "Cancel", show=False),
        Binding("d", "follow_up", "Follow-up", show=False),
    ]
    TITLE = "Action"
    NOUN = "value"

    class Planned(Message):
        def __init__(self, plan: object) -> None:
            super().__init__()
            self.plan = plan

    class Done(Message):
        def __init__(self, outcome: str) -> None:
            super().__init__()
            self.outcome = outcome

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.plan: P | None = None
        self.outcome: str | None = None

    # Hooks -------------------------------------------------------------------------------
    def make_plan(self) -> P | None:
        """Worker thread, read-only: what would run (None: nothing to do)."""
        raise NotImplementedError

    def nothing(self) -> str:
        """What to say when there is nothing to do."""
        return "Nothing to do."

    def describe(self, plan: P) -> str:
        raise NotImplementedError

    def command(self, plan: P) -> str:
        """The exact statement that will run, pinned under the scrolling plan so that it is
        visible at 80x24 whatever the plan's length ("" when the plan shows it in full)."""
        return ""

    def token(self, plan: P) -> str:
        """What the operator types to confirm (the version, the pid)."""
        raise NotImplementedError

    def execute(self, plan: P, reason: str) -> str:
        """Worker thread: carry the plan out (handing ``cancel_token`` to the core call, and
        ``waiting`` what it waits for); return the outcome line."""
        raise NotImplementedError

    def running_text(self, plan: P) -> str:
        """What is shown while it runs, before anything is known to be waited for."""
        return "Running…"

    def follow_up_label(self, failure: str) -> str | None:
        """A button offered after a refusal that names its own way out (None: none)."""
        return None

    def follow_up(self) -> None:
        """What that button does."""

    def waiting(self, text: str) -> None:
        """Worker thread: show what the run waits for (the holder of a lock, a session)."""
        self.app.call_from_thread(self._show_wait, text)

    def _show_wait(self, text: str) -> None:
        if self.phase == "running":
            self._say(Text(f"{text}\nq, ctrl+c or Cancel stops the wait.", style="bold yellow"))

    # Flow --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -tall"):
            with VerticalScroll(id="plan"):
                yield Static("Reading what would be done…", id="message")
            yield Static(id="command")
            with Horizontal(classes="inputs"):
                yield Input(id="token")
                yield Input(placeholder="reason, for the audit (optional)", id="reason")
            with Horizontal(classes="buttons"):
                yield Button("Confirm", id="confirm", variant="error", disabled=True)
                yield Button("", id="follow", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = self.TITLE
        for widget in ("#token", "#reason", "#confirm", "#command", "#follow"):
            self.query_one(widget).display = False
        self.query_one("#plan").loading = True
        self._plan()

    def replan(self) -> None:
        """Read the plan again (after a follow-up changed what it depends on)."""
        self.failure = None
        self.phase = "planning"
        self.query_one("#follow").display = False
        self._say(Text("Reading what would be done…"))
        self.query_one("#plan").loading = True
        self._plan()

    @on(Button.Pressed, "#follow")
    def action_follow_up(self) -> None:
        if self.query_one("#follow").display:
            self.follow_up()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _plan(self) -> None:
        self.post_message(self.Planned(self.make_plan()))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        self.query_one("#plan").loading = False
        if message.plan is None:
            self.phase = "nothing"
            self._say(Text(self.nothing(), style="green"))
            self._closable()
            return
        plan = cast(P, message.plan)
        self.plan = plan
        self.phase = "confirm"
        self._say(Text(self.describe(plan)))
        command = self.command(plan)
        if command:
            pinned = self.query_one("#command", Static)
            pinned.update(BoundaryWrap(Text("will run: ", style="bold").append(command)))
            pinned.display = True
        token = self.query_one("#token", Input)
        token.placeholder = f"type {self.token(plan)} to confirm"
        token.display = True
        self.query_one("#reason").display = True
        confirm = self.query_one("#confirm", Button)
        confirm.display = True
        confirm.label = f"Run it ({self.NOUN} {self.token(plan)})"
        token.focus()

    @on(Input.Changed, "#token")
    def _typed(self, event: Input.Changed) -> None:
        if self.plan is not None:
            matches = event.value.strip() == self.token(self.plan)
            self.query_one("#confirm", Button).disabled = not matches

    @on(Input.Submitted, "#token")
    @on(Input.Submitted, "#reason")
    def _submitted(self) -> None:
        if not self.query_one("#confirm", Button).disabled:
            self.confirm()

    @on(Button.Pressed, "#confirm")
    def confirm(self) -> None:
        plan = self.plan
        if self.phase != "confirm" or plan is None:
            return
        if self.query_one("#token", Input).value.strip() != self.token(plan):
            return
        self.phase = "running"
        self.ctx.busy = self.TITLE
        self._changed = True
        reason = self.query_one("#reason", Input).value.strip() or AUDIT_REASON
        for widget in ("#token", "#reason", "#confirm"):
            self.query_one(widget).display = False
        self._cancellable("Cancel (q)")
        self._say(Text(self.running_text(plan), style="bold"))
        self._run(plan, reason)

    @work(thread=True, exclusive=True, exit_on_error=False, group="run")
    def _run(self, plan: P, reason: str) -> None:
        self.post_message(self.Done(self.execute(plan, reason)))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.phase = "done"
        self.outcome = message.outcome
        self.ctx.busy = None
        self.ctx.changed()
        self.query_one("#plan").loading = False
        self.query_one("#command").display = False  # it ran: the outcome says what happened
        text = Text("✓ ", style="bold green")
        text.append(message.outcome)
        self._say(text)
        self._closable()

    def show_failure(self, worker: Worker[object], message: str) -> None:
        if worker.group == "cancel":
            self.notify(message, title="cancel failed", severity="error", timeout=15)
            return
        self.failure = message
        if worker.group == "run":
            self.ctx.busy = None
            self.ctx.changed()
        self.phase = "cancelled" if self.cancel_token.cancelled else "failed"
        self.query_one("#plan").loading = False
        text = Text("✗ ", style="bold red")
        text.append(message)
        self._say(text)
        for widget in ("#token", "#reason", "#confirm", "#command"):
            self.query_one(widget).display = False
        label = self.follow_up_label(message) if worker.group == "plan" else None
        if label is not None:
            follow = self.query_one("#follow", Button)
            follow.label = label
            follow.display = True
        self._closable()
        if label is not None:
            self.query_one("#follow", Button).focus()


class RepairModal(GuardedActionModal[repair.RepairPlan]):
    """``gordon-migrate repair VERSION --done|--undone`` (runbook FM-13)."""

    TITLE = "Repair a dirty migration (FM-13)"
    NOUN = "version"

    def __init__(self, ctx: Context, version: int, action: Action) -> None:
        super().__init__(ctx)
        self.version = version
        self.action = action

    def make_plan(self) -> repair.RepairPlan:
        return repair.plan_repair(self.ctx.target, self.ctx.bundle, self.version, self.action)

    def describe(self, plan: repair.RepairPlan) -> str:
        return repair.describe_plan(plan, self.ctx.target)

    def token(self, plan: repair.RepairPlan) -> str:
        return str(plan.version)

    def command(self, plan: repair.RepairPlan) -> str:
        return plan.statement

    CANCEL_WHAT = "the repair"
    CANCEL_CONSEQUENCE = (
        "It is waiting for the migration lock: cancelling stops the wait and changes nothing."
    )

    def running_text(self, plan: repair.RepairPlan) -> str:
        return f"Taking the migration lock (advisory lock {plan.lock_key}) to repair {plan.label}…"

    def follow_up_label(self, failure: str) -> str | None:
        # repair refused because an index is in the way, and named the DROP to run first.
        return "Drop it first (d)" if "DROP INDEX CONCURRENTLY" in failure else None

    def follow_up(self) -> None:
        def dropped(changed: bool | None) -> None:
            if changed:
                self.replan()

        self.app.push_screen(DropIndexModal(self.ctx, self.version, self.action), dropped)

    def execute(self, plan: repair.RepairPlan, reason: str) -> str:
        def held(holder: Session | None) -> None:
            who = holder.describe(with_state=True) if holder else "a session that has since gone"
            self.waiting(
                f"Waiting (up to {repair.DEFAULT_LOCK_WAIT_S:.0f} s) for the migration lock "
                f"(advisory lock {plan.lock_key}), held by {who}"
            )

        outcome = repair.run_repair(
            self.ctx.target, plan, reason=reason, cancel=self.cancel_token, on_wait=held
        )
        return repair.describe_outcome(outcome)


class DropIndexModal(GuardedActionModal[repair.DropPlan]):
    """The ``DROP INDEX CONCURRENTLY`` a repair's refusal names, as one confirmed action."""

    TITLE = "Drop what the repair needs gone (FM-13, FM-31)"
    NOUN = "version"

    def __init__(self, ctx: Context, version: int, action: Action) -> None:
        super().__init__(ctx)
        self.version = version
        self.action = action

    def make_plan(self) -> repair.DropPlan | None:
        return repair.plan_drop(self.ctx.target, self.ctx.bundle, self.version, self.action)

    def nothing(self) -> str:
        return "No index of this migration is in the way: nothing to drop."

    def describe(self, plan: repair.DropPlan) -> str:
        return repair.describe_drop(plan, self.ctx.target)

    def command(self, plan: repair.DropPlan) -> str:
        return " ".join(plan.statements)

    def token(self, plan: repair.DropPlan) -> str:
        return str(plan.version)

    def running_text(self, plan: repair.DropPlan) -> str:
        return f"Dropping {', '.join(plan.indexes)} concurrently…"

    def execute(self, plan: repair.DropPlan, reason: str) -> str:
        return repair.run_drop(self.ctx.target, plan, reason=reason)


class UnlockModal(GuardedActionModal[unlock.UnlockPlan]):
    """``gordon-migrate unlock [--pid PID]`` (runbook FM-16, FM-17)."""

    TITLE = "End a session (FM-16, FM-17)"
    NOUN = "pid"

    def __init__(self, ctx: Context, pid: int | None = None) -> None:
        super().__init__(ctx)
        self.pid = pid

    def make_plan(self) -> unlock.UnlockPlan | None:
        return unlock.plan_unlock(self.ctx.target, self.pid)

    def nothing(self) -> str:
        return f"Nobody holds the migration lock ({self.ctx.target.redacted}): nothing to end."

    def describe(self, plan: unlock.UnlockPlan) -> str:
        return unlock.describe_plan(plan, self.ctx.target)

    def token(self, plan: unlock.UnlockPlan) -> str:
        return str(plan.session.pid)

    def command(self, plan: unlock.UnlockPlan) -> str:
        return plan.statement

    CANCEL_WHAT = "the wait for the session to exit"
    CANCEL_CONSEQUENCE = (
        "Before the session is signalled, nothing is done; after, it is ending anyway and "
        "only the wait for it stops."
    )

    def running_text(self, plan: unlock.UnlockPlan) -> str:
        return (
            f"Ending pid {plan.session.pid} and waiting (up to {unlock.GONE_WAIT_S:.0f} s) for "
            "it to exit…\nq, ctrl+c or Cancel stops the wait."
        )

    def execute(self, plan: unlock.UnlockPlan, reason: str) -> str:
        outcome = unlock.end_session(self.ctx.target, plan, reason=reason, cancel=self.cancel_token)
        return unlock.describe_outcome(outcome)


class RepairChoiceModal(GordonModal[tuple[int, Action] | None]):
    """Which dirty migration, and was it finished or undone by hand? (runbook FM-13)"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Cancel"),
        Binding("d", "choose('done')", "Finished by hand"),
        Binding("u", "choose('undone')", "Undone by hand"),
    ]

    class Found(Message):
        def __init__(self, dirty: list[MigrationStatus]) -> None:
            super().__init__()
            self.dirty = dirty

    def __init__(self, ctx: Context) -> None:
        super().__init__()
        self.ctx = ctx
        self.dirty: list[MigrationStatus] | None = None
        self.failure: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Static("Reading the history…", id="message")
            with Horizontal(classes="buttons"):
                yield Button("Finished by hand (d)", id="done", variant="warning")
                yield Button("Undone by hand (u)", id="undone", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#dialog").border_title = "Repair a dirty migration (FM-13)"
        for button in ("#done", "#undone"):
            self.query_one(button).display = False
        self.query_one("#message").loading = True
        self._find()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _find(self) -> None:
        found = repair.dirty_migrations(
            self.ctx.target, self.ctx.bundle, purpose="tui repair", doing="reading the repair"
        )
        self.post_message(self.Found(found))

    @on(Found)
    def _found(self, message: Found) -> None:
        self.query_one("#message").loading = False
        self.dirty = message.dirty
        if not message.dirty:
            self._say(Text("No dirty migration: nothing to repair.", style="green"))
            self.query_one("#cancel", Button).focus()
            return
        first = message.dirty[0]
        text = Text()
        text.append(f"Migration {first.label} is dirty", style="bold")
        if first.no_transaction:
            advice = (
                "Before repairing, finish its remaining statements by hand, or undo what took "
                "effect (runbook FM-13: an interrupted CREATE INDEX CONCURRENTLY leaves an "
                "INVALID index to drop first)."
            )
        else:
            advice = (
                "Before repairing, find out who wrote the row, and check whether all or none of "
                "its changes are in the database (runbook FM-13)."
            )
            self.query_one("#done", Button).label = "All of it is in (d)"
            self.query_one("#undone", Button).label = "None of it is in (u)"
        text.append(
            f": {dirty.cause(first.no_transaction)}.\n\n{advice}\n\n"
            "Then say which you did. The next dialog shows the exact statement and asks you to "
            "type the version."
        )
        if len(message.dirty) > 1:
            others = ", ".join(f"{m.version:04d}" for m in message.dirty[1:])
            text.append(f"\n\nAlso dirty: {others} (one at a time).", style="yellow")
        self._say(text)
        for button in ("#done", "#undone"):
            self.query_one(button).display = True
        self.query_one("#cancel", Button).focus()

    def show_failure(self, worker: Worker[object], message: str) -> None:
        self.failure = message
        self.query_one("#message").loading = False
        text = Text("✗ ", style="bold red")
        text.append(message)
        self._say(text)

    def _say(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)

    def action_choose(self, action: str) -> None:
        if not self.dirty:
            return
        self.dismiss((self.dirty[0].version, "done" if action == "done" else "undone"))

    @on(Button.Pressed, "#done")
    def _done(self) -> None:
        self.action_choose("done")

    @on(Button.Pressed, "#undone")
    def _undone(self) -> None:
        self.action_choose("undone")

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        self.dismiss(None)
