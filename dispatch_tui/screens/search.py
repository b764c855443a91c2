"""The global search (ctrl+f on every view, `/` where the view has nothing of its own to filter or find):
a job, customer, address or technician of the branch; Enter opens what is chosen."""

from __future__ import annotations

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from data.db import Database
from data.queries.search import SearchHit, search


class SearchScreen(ModalScreen[SearchHit | None]):
    """Type to search; the hits come from a thread worker (the newest text wins); Enter opens one."""

    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical { width: 96; max-width: 100%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1; }
    SearchScreen OptionList { height: auto; max-height: 16; }
    SearchScreen #hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class Found(Message):
        def __init__(self, text: str, hits: list[SearchHit]) -> None:
            super().__init__()
            self.text = text
            self.hits = hits

    def __init__(self, db: Database, branch_id: int, branch_code: str) -> None:
        super().__init__()
        self.db = db
        self.branch_id = branch_id
        self.branch_code = branch_code
        self.hits: list[SearchHit] = []
        self.searched = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Search {self.branch_code}", style="bold"))
            yield Input(placeholder="job ref, customer, address or technician", id="search")
            yield OptionList(id="hits")
            yield Static("type to search · ↓ the hits · Enter open · Esc close", id="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, text: str) -> None:
        self.post_message(self.Found(text, search(self.db, self.branch_id, text)))

    def on_search_screen_found(self, message: Found) -> None:
        if message.text != self.query_one(Input).value:
            return  # typed on meanwhile: a newer answer is coming
        self.searched = message.text
        self.hits = message.hits
        hits = self.query_one(OptionList)
        hits.clear_options()
        hits.add_options(Option(self._line(hit), id=str(i)) for i, hit in enumerate(message.hits))
        if message.hits:
            hits.highlighted = 0
        hint = f"{len(message.hits)} found" if message.text.strip() else "type to search"
        self.query_one("#hint", Static).update(f"{hint} · ↓ the hits · Enter open · Esc close")

    @staticmethod
    def _line(hit: SearchHit) -> Text:
        line = Text(f"{hit.key:<8} ", style="bold")
        line.append(hit.title)
        if hit.kind == "job":
            line.append(f"  {hit.detail}", style="dim")
        else:
            line.append("  technician", style="dim")
        return line

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        hits = self.query_one(OptionList)
        index = hits.highlighted if hits.highlighted is not None else 0
        if self.hits and self.searched == self.query_one(Input).value:
            self.dismiss(self.hits[index])

    def on_key(self, event: events.Key) -> None:
        if event.key == "down" and self.query_one(Input).has_focus and self.hits:
            self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.hits[event.option_index])

    def action_cancel(self) -> None:
        self.dismiss(None)
