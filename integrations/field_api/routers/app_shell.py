"""The technician's web app (an installable PWA) served from `/app/`: plain files, no build step.

The pages render in the browser from the field API's JSON, kept in IndexedDB, so they work offline;
that is why the app is a few ES modules and not server-rendered HTML. The service worker is served with
a version made from the shell's content, so a new release replaces what phones keep in their cache.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

WEBAPP = Path(__file__).resolve().parent.parent / "webapp"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Phones revalidate (cheap 304s); offline they use the service worker's copy.
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@cache
def shell_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(WEBAPP.iterdir()) if p.suffix in TYPES}


@cache
def shell_version() -> str:
    digest = hashlib.sha256()
    for name, content in shell_files().items():
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()[:16]


def _file(name: str) -> Response:
    files = shell_files()
    if name not in files:
        raise HTTPException(404, f"no such file in the app: {name}")
    content = files[name]
    headers = dict(HEADERS)
    if name == "sw.js":
        content = content.replace(b"__VERSION__", shell_version().encode())
        headers["Service-Worker-Allowed"] = "/app/"
    headers["ETag"] = f'"{shell_version()}"'
    return Response(content, media_type=TYPES[Path(name).suffix], headers=headers)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app")
def app_no_slash() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=307)


@router.get("/app/")
def index() -> Response:
    return _file("index.html")


@router.get("/app/{name}")
def asset(name: str) -> Response:
    return _file(name)
