"""Small modal dialogs for dispatch by keyboard: pick from a filtered list, type a line, the `:` prompt.

A dialog that makes a change takes a `submit` callable that starts it in a worker and returns at once: a
message for input it cannot take ("not a time"), or None when the change is under way. The answer arrives
as `ActionSucceeded` (the dialog closes) or `ActionRefused` (shown in place, in red; the dialog stays open
to try again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message_pump import MessagePump
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from dispatch_tui.messages import ActionRefused, ActionSucceeded
from dispatch_tui.widgets.command_line import CommandLine

Submit = Callable[[str, str, MessagePump], str | None]
"""(chosen value, text of the extra field, the dialog to answer) -> what is wrong with the input, or None when
the change has started (its answer is posted to the dialog)."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    dim: bool = False


class PickList(ModalScreen[str | None]):
    """A titled list with a type-to-filter box and an optional extra field (a start time, an end time)."""

    DEFAULT_CSS = """
    PickList { align: center middle; }
    PickList > Vertical { width: 72; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1; }
    PickList OptionList { height: auto; max-height: 12; }
    PickList #error { color: $error; height: auto; }
    PickList #hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        choices: Sequence[Choice],
        submit: Submit,
        *,
        extra_label: str | None = None,
        extra_default: str = "",
        filterable: bool = True,
        highlight: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = list(choices)
        self.submit = submit
        self.extra_label = extra_label
        self.extra_default = extra_default
        self.filterable = filterable
        self.highlight_value = highlight
        self.busy = False
        self.chosen: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            if self.filterable:
                yield Input(placeholder="type to filter", id="pick-filter")
            yield OptionList(id="choices")
            if self.extra_label:
                yield Input(value=self.extra_default, placeholder=self.extra_label, id="extra")
            yield Static("", id="error", markup=False)
            yield Static("Enter choose · Tab next field · Esc cancel", id="hint", markup=False)

    def on_mount(self) -> None:
        self._fill("")
        if self.filterable:
            self.query_one("#pick-filter", Input).focus()
        else:
            self.query_one(OptionList).focus()

    def _fill(self, text: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        needle = text.strip().lower()
        shown = [c for c in self.choices if not needle or needle in c.label.lower() or needle in c.value.lower()]
        options.add_options([Option(Text(c.label, style="dim" if c.dim else ""), id=c.value) for c in shown])
        if shown:
            index = next((i for i, c in enumerate(shown) if c.value == self.highlight_value), 0)
            options.highlighted = index

    @on(Input.Changed, "#pick-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted)
    def _enter(self, _event: Input.Submitted) -> None:
        self._choose()

    @on(OptionList.OptionSelected)
    def _selected(self, _event: OptionList.OptionSelected) -> None:
        self._choose()

    def _choose(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is None or self.busy:
            return
        value = options.get_option_at_index(options.highlighted).id or ""
        extra = self.query_one("#extra", Input).value if self.extra_label else ""
        error_box = self.query_one("#error", Static)
        wrong = self.submit(value, extra, self)
        if wrong:
            error_box.update(Text(wrong, style="bold red"))
            return
        self.busy, self.chosen = True, value
        error_box.update("working...")

    def on_action_succeeded(self, _message: ActionSucceeded) -> None:
        self.dismiss(self.chosen)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.busy = False
        self.query_one("#error", Static).update(Text(message.text, style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(ModalScreen[str | None]):
    """One line of text (a note, a filter name, a search); what `check` or `submit` refuses is shown in place."""

    DEFAULT_CSS = """
    TextPrompt { align: center middle; }
    TextPrompt > Vertical { width: 72; max-width: 100%; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    TextPrompt #error { color: $error; height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        *,
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        submit: Callable[[str, MessagePump], None] | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.check = check
        """What is wrong with the text, at once (None: nothing); shown in place, the prompt stays."""
        self.submit = submit
        """Starts the change in a worker; the prompt closes on its `ActionSucceeded`."""
        self.value: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Input(placeholder=self.placeholder, id="text")
            yield Static("", id="error", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        wrong = self.check(value) if self.check is not None else None
        if wrong:
            self.query_one("#error", Static).update(Text(wrong, style="bold red"))
            return
        if self.submit is None:
            self.dismiss(value)
            return
        self.value = value
        self.submit(value, self)  # the answer comes as ActionSucceeded / ActionRefused
        self.query_one("#error", Static).update("working...")

    def on_action_succeeded(self, _message: ActionSucceeded) -> None:
        self.dismiss(self.value)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.query_one("#error", Static).update(Text(message.text, style="bold red"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 60; max-width: 100%; height: auto; border: round $warning;
        background: $surface; padding: 0 1; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), markup=False)
            yield Static(Text("y yes · n no", style="dim"), markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CommandPrompt(ModalScreen[str | None]):
    """The `:` line at the bottom of the screen (k9s style). Input's focus style adds a border, which in
    one row would leave no room for the text: the line keeps no border when focused too."""

    DEFAULT_CSS = """
    CommandPrompt { align: left bottom; background: transparent; }
    CommandPrompt > CommandLine, CommandPrompt > CommandLine:focus {
        dock: bottom; width: 100%; border: none; height: 1; padding: 0 1; background: $boost;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        yield CommandLine()

    def on_mount(self) -> None:
        self.query_one(CommandLine).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
