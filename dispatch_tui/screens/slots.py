"""`:slots SITE [SKILLS] [MINUTES]`: the arrival windows a calling customer can be promised, cheapest first."""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from data.slots import SlotView  # loads the planner: only for the types


def slot_line(offer: SlotView, zone: tzinfo) -> Text:
    t = Text()
    start, end = offer.window_start.astimezone(zone), offer.window_end.astimezone(zone)
    t.append(f"{start:%a %d %b %H:%M}-{end:%H:%M}  ", style="bold")
    t.append(f"{offer.technician:<6} arrives {offer.start.astimezone(zone):%H:%M}  +{offer.added_travel_minutes} min")
    if offer.displaced:
        moved = ", ".join(f"{d['job']} +{d['minutes_later']}" for d in offer.displaced)
        t.append(f"  moves {moved}", style="yellow")
    if offer.lateness_minutes:
        t.append(f"  {offer.lateness_minutes} min late", style="red")
    t.append(f"  cost {offer.cost:.2f}", style="dim")
    return t


class SlotsScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    SlotsScreen { align: center middle; }
    SlotsScreen > Vertical { width: 96; max-width: 100%; height: auto; border: round $accent;
        background: $surface; padding: 0 1; }
    SlotsScreen OptionList { height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "close", "Close")]

    def __init__(self, site: str, offers: list[SlotView], zone: tzinfo) -> None:
        super().__init__()
        self.site = site
        self.offers = offers
        self.zone = zone

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Windows to promise at {self.site} (cheapest first)", style="bold"))
            yield OptionList(*[Option(slot_line(o, self.zone), id=str(i)) for i, o in enumerate(self.offers)])
            if not self.offers:
                yield Static(Text("No window fits (skills, shifts, the days as planned).", style="yellow"))
            yield Static(Text("Esc closes", style="dim"), markup=False)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
