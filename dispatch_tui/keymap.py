"""The console's keys as data: defaults here, overrides from `keys.toml` in the user config dir.

Every action has a stable binding id; a user rebinds it with a line such as `assign = "ctrl+a"` in
`~/.config/dispatch/keys.toml` (Textual's keymap mechanism applies it). Whether an action changes
data (`cannot` says what) decides what a read-only supervisor is told when pressing its key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding

from data.paths import config_file
from data.permissions import Permission
from dispatch_tui.views import VIEWS

APP_NAME = "dispatch"


@dataclass(frozen=True)
class KeySpec:
    id: str
    key: str
    action: str
    description: str
    cannot: str = ""
    """For a key that changes data: what a read-only user is told they cannot do ("assign jobs")."""
    show: bool = True
    needs: Permission = Permission.ASSIGN
    """For a key that changes data: the permission its service checks."""

    @property
    def writes(self) -> bool:
        return bool(self.cannot)


# Keys every view shares (the app's bindings). Views add their own (sort, filter, zoom...).
APP_KEYS: tuple[KeySpec, ...] = (
    *(KeySpec(f"view.{v.name}", v.key, f"view('{v.name}')", v.title, show=False) for v in VIEWS),
    KeySpec("command_line", "colon", "command_line", "Command", show=False),
    KeySpec("help", "question_mark", "help", "Keys"),
    KeySpec("job.open", "enter", "open_job", "Detail", show=False),
    KeySpec("job.assign", "a", "assign", "Assign", cannot="assign jobs"),
    KeySpec("job.unassign", "x", "unassign", "Unassign", cannot="unassign jobs"),
    KeySpec("job.move", "m", "move", "Move", cannot="move jobs"),
    KeySpec("job.pin", "p", "pin", "Pin", cannot="pin jobs"),
    KeySpec("job.status", "S", "status", "Status", cannot="change a job's status"),
    KeySpec("job.suggest", "s", "suggest", "Suggest", cannot="assign jobs from suggestions"),
    KeySpec("job.note", "n", "note", "Note", cannot="add notes to jobs"),
    KeySpec("technician.absent", "A", "absent", "Absent", cannot="mark technicians absent"),
    KeySpec("branch.replan", "R", "replan", "Re-plan"),  # read-only: the proposal, never apply
    KeySpec("undo", "u", "undo", "Undo", cannot="undo changes"),
    KeySpec("quit", "q", "quit", "Quit", show=False),
)

WRITE_ACTIONS = frozenset(k.action.split("(")[0] for k in APP_KEYS if k.writes)
ACTION_NEEDS = {k.action.split("(")[0]: (k.needs, k.cannot) for k in APP_KEYS if k.writes}
"""Action name -> the permission it needs and what a role without it is told it cannot do."""
READ_ONLY_REFUSALS = {k.action.split("(")[0]: f"read-only: supervisors cannot {k.cannot}" for k in APP_KEYS if k.writes}
"""Action name -> what a read-only user is told when they press its key."""


def bindings(specs: tuple[KeySpec, ...] = APP_KEYS) -> list[Binding]:
    return [Binding(s.key, s.action, s.description, show=s.show, id=s.id) for s in specs]


def keys_file() -> Path:
    return config_file("keys.toml")


def load_overrides(path: Path | None = None) -> dict[str, str]:
    """Binding id -> key(s) from the user's keys.toml; an unknown id or a non-text key is an error."""
    path = path or keys_file()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    known = {s.id for s in APP_KEYS}
    out: dict[str, str] = {}
    for name, value in data.items():
        if name not in known:
            raise ValueError(f"{path}: unknown key binding '{name}' (known: {', '.join(sorted(known))})")
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{path}: '{name}' must be a key such as \"ctrl+a\"")
        out[name] = value
    return out
