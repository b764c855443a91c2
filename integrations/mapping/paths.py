"""Field paths in mappings: `payload.lines[0].qty` to read, `Line[0].Amount` to write nested targets."""

from __future__ import annotations

import itertools
import re
from typing import Any

Segment = str | int
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_MISSING = object()


def parse_path(path: str) -> tuple[Segment, ...]:
    """Split `a.b[2].c` into ('a', 'b', 2, 'c'); raises ValueError on anything else."""
    if not path or path.strip() != path:
        raise ValueError(f"bad field path {path!r}")
    segments: list[Segment] = []
    pos = 0
    while pos < len(path):
        if path[pos] == "." and segments and pos + 1 < len(path) and path[pos + 1] not in ".[":
            pos += 1
        m = _SEGMENT.match(path, pos)
        if m is None or (m.group(1) is not None and pos > 0 and path[pos - 1] not in ".["):
            raise ValueError(f"bad field path {path!r} at position {pos}")
        segments.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return tuple(segments)


def read_path(source: Any, path: tuple[Segment, ...]) -> Any:
    """The value at `path`, or MISSING when any step is absent (None is a value, not a miss)."""
    value = source
    for seg in path:
        if isinstance(seg, int):
            if not isinstance(value, list | tuple) or seg >= len(value):
                return _MISSING
            value = value[seg]
        else:
            if not isinstance(value, dict) or seg not in value:
                return _MISSING
            value = value[seg]
    return value


def write_path(target: dict[str, Any], path: tuple[Segment, ...], value: Any) -> None:
    """Set `value` at `path`, creating dicts and lists (padded with {}) on the way."""
    node: Any = target
    for seg, nxt in itertools.pairwise(path):
        child_default: Any = [] if isinstance(nxt, int) else {}
        if isinstance(seg, int):
            while len(node) <= seg:
                node.append({} if not isinstance(nxt, int) else [])
            if not isinstance(node[seg], dict | list):
                node[seg] = child_default
            node = node[seg]
        else:
            if not isinstance(node.get(seg), dict | list):
                node[seg] = child_default
            node = node[seg]
    last = path[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value


def is_missing(value: Any) -> bool:
    return value is _MISSING


MISSING: Any = _MISSING
