"""Every failure of the field API as `{"error": {"code", "message", "field"}}` with a fitting 4xx status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from data.errors import (
    AssignmentRefused,
    Conflict,
    DispatchError,
    IllegalTransition,
    InsufficientStock,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from data.services.api_tokens import Unauthenticated
from data.services.sync import error_code
from integrations.field_api.schemas import ErrorResponse

# Documented on every authenticated route so the OpenAPI spec lists what a client must handle.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing, invalid or revoked API token"},
    403: {"model": ErrorResponse, "description": "The job belongs to another technician"},
    404: {"model": ErrorResponse, "description": "No such job"},
    409: {"model": ErrorResponse, "description": "Illegal status transition or a concurrent change"},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names the culprit"},
}


def status_for(err: DispatchError) -> int:
    if isinstance(err, Unauthenticated):
        return 401
    if isinstance(err, PermissionDenied):
        return 403
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, IllegalTransition | Conflict | AssignmentRefused | InsufficientStock):
        return 409
    if isinstance(err, InvalidInput):
        return 422
    if isinstance(err, StorageUnavailable):
        return 503
    return 400


def error_json(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "field": field}}, status_code=status, headers=headers
    )


def _field_of(loc: tuple[Any, ...]) -> str | None:
    # The first element says where (body, query, path, header); the rest is the field's path.
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(map(str, loc))
    if parts and parts[0] in ("PositionIn", "PositionsIn"):
        parts = parts[1:]  # a union body reports which alternative failed; the field is what matters
    return ".".join(parts) or None


def domain_error(err: DispatchError) -> JSONResponse:
    code = "unauthenticated" if isinstance(err, Unauthenticated) else error_code(err)
    return error_json(status_for(err), code, err.message, getattr(err, "field", None))


def invalid_input(problems: Sequence[Any]) -> JSONResponse:
    """422 naming the first field at fault, for pydantic's errors (locations start with "body", "query", ...)."""
    if not problems:
        return error_json(422, "invalid_input", "the request could not be read")
    first = problems[0]
    field = _field_of(tuple(first.get("loc", ())))
    message = "; ".join(
        f"{_field_of(tuple(p.get('loc', ()))) or 'body'}: {p.get('msg', 'invalid')}" for p in problems[:5]
    )
    if len(problems) > 5:
        message += f" (and {len(problems) - 5} more)"
    return error_json(422, "invalid_input", message, field)


def install(app: FastAPI) -> None:
    @app.exception_handler(DispatchError)
    async def on_domain_error(_request: Request, err: DispatchError) -> JSONResponse:
        return domain_error(err)

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(_request: Request, err: RequestValidationError) -> JSONResponse:
        return invalid_input(list(err.errors()))

    @app.exception_handler(SQLAlchemyTimeout)
    @app.exception_handler(OperationalError)
    async def on_database_away(_request: Request, _err: Exception) -> JSONResponse:
        # Busy or unreachable database: the phone keeps its outbox and sends it again shortly.
        response = error_json(503, "unavailable", "the database is busy or unreachable; try again shortly")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, err: StarletteHTTPException) -> JSONResponse:
        if err.status_code == 400:
            # FastAPI's answer to a body it could not decode (bad UTF-8, nesting too deep for the parser).
            return error_json(422, "invalid_input", "the request body is not readable: send UTF-8 JSON", "body")
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}.get(err.status_code, "http_error")
        return error_json(err.status_code, code, str(err.detail))
