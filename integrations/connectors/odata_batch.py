"""OData `$batch` in the multipart/mixed format Dataverse documents: one change set, all or nothing.

"Execute batch operations using the Web API" (Microsoft Learn, Dataverse): `POST
[org]/api/data/v9.2/$batch` with `Content-Type: multipart/mixed; boundary=batch_<id>`; a change set
is one part of type `multipart/mixed; boundary=changeset_<id>` whose parts are each
`Content-Type: application/http`, `Content-Transfer-Encoding: binary` and a unique `Content-ID`,
holding one request (request line, headers, blank line, JSON body). Lines end in CRLF. Dataverse
runs a change set in one transaction and answers 200 with a multipart/mixed body of one
`application/http` response per request (or the one error that rolled the change set back).
The answer is read with the standard library's `email` parser, which knows MIME multipart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

CRLF = "\r\n"


@dataclass(frozen=True)
class BatchPart:
    """One request of a change set; `url` is absolute (the service root plus the resource path)."""

    method: str
    url: str
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PartResponse:
    status: int
    headers: dict[str, str]
    body: str


def changeset_request(parts: Sequence[BatchPart], batch_id: str, changeset_id: str) -> tuple[str, bytes]:
    """The Content-Type header and body of a `$batch` holding one change set of `parts`."""
    batch, changeset = f"batch_{batch_id}", f"changeset_{changeset_id}"
    lines = [f"--{batch}", f"Content-Type: multipart/mixed; boundary={changeset}", ""]
    for number, part in enumerate(parts, start=1):
        lines += [
            f"--{changeset}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            f"Content-ID: {number}",
            "",
            f"{part.method} {part.url} HTTP/1.1",
            "Content-Type: application/json; type=entry",
            *(f"{name}: {value}" for name, value in part.headers.items()),
            "",
            json.dumps(part.body, ensure_ascii=False) if part.body is not None else "",
        ]
    lines += [f"--{changeset}--", f"--{batch}--", ""]
    return f"multipart/mixed; boundary={batch}", CRLF.join(lines).encode("utf-8")


def _http_response(part: Message) -> PartResponse:
    raw = part.get_payload(decode=True)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(part.get_payload())
    head, _, body = text.replace(CRLF, "\n").partition("\n\n")
    status_line, *header_lines = head.strip("\n").split("\n")
    protocol, _, rest = status_line.partition(" ")
    if not protocol.startswith("HTTP/") or not rest[:3].isdigit():
        raise ValueError(f"not an HTTP response line: {status_line!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return PartResponse(int(rest[:3]), headers, body.strip())


def batch_responses(content_type: str, body: bytes) -> list[PartResponse]:
    """Every `application/http` response in a `$batch` answer, change sets opened, in order."""
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=policy.compat32)
    if not message.is_multipart():
        raise ValueError("the $batch answer is not multipart/mixed")
    found = []
    for part in message.walk():
        if part.get_content_type() == "application/http":
            found.append(_http_response(part))
    return found
