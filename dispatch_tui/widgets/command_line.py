"""The `:` command line (k9s style): an input with completion, and the parser for what is typed.

Commands: `:techs`, `:jobs`, `:board`, `:map`, `:cal`, `:deliveries`, `:job REF`, `:tech CODE`,
`:assign REF CODE [HH:MM]`, `:unassign REF`, `:replan`, `:branch CODE`, `:day YYYY-MM-DD`,
`:slots SITE [SKILLS] [MINUTES]` (windows a caller can be promised), `:depend REF AFTER [GAP]`,
`:crew REF SIZE`, `:visits REF DAYS`, `:undo`, `:messages`, `:help`, `:quit`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.suggester import SuggestFromList
from textual.widgets import Input

from dispatch_tui.views import LISTED_WORDS, WORDS

VIEWS = WORDS
"""`:` word -> view name (declared in `dispatch_tui.views`)."""
COMMANDS = {
    "job": 1,
    "tech": 1,
    "assign": 2,
    "unassign": 1,
    "replan": 0,
    "branch": 1,
    "day": 1,
    "slots": 1,
    "depend": 2,
    "crew": 2,
    "visits": 2,
    "undo": 0,
    "help": 0,
    "messages": 0,
    "quit": 0,
    "q": 0,
}


class CommandError(ValueError):
    """What was typed is not a command; the message says what would be."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()


def parse_command(text: str) -> Command:
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("type a command, e.g. :jobs, :job J000123, :tech T012, :replan, :quit")
    name, args = words[0].lower(), tuple(words[1:])
    if name in VIEWS:
        return Command("view", (VIEWS[name],))
    if name not in COMMANDS:
        known = sorted({*LISTED_WORDS, *COMMANDS} - {"q"})
        raise CommandError(f"unknown command ':{name}' (known: {', '.join(known)})")
    needed = COMMANDS[name]
    if len(args) < needed:
        usage = {
            "job": "REF",
            "tech": "CODE",
            "assign": "REF CODE [HH:MM]",
            "unassign": "REF",
            "slots": "SITE [SKILLS] [MINUTES]",
            "depend": "REF AFTER_REF [GAP_MINUTES] (AFTER_REF - clears)",
            "crew": "REF SIZE",
            "visits": "REF DAYS",
        }
        raise CommandError(f":{name} needs {usage.get(name, 'an argument')}")
    return Command("quit" if name == "q" else name, args)


class CommandLine(Input):
    """An input that completes command names."""

    def __init__(self) -> None:
        words = sorted({*VIEWS, *COMMANDS})
        super().__init__(
            placeholder=":jobs  :job J000123  :tech T012  :replan  :quit",
            suggester=SuggestFromList(words, case_sensitive=False),
            id="command-line",
        )
