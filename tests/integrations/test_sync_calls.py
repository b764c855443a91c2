"""Synchronous calls answer within their deadline with a typed result or `Unavailable`, never hang or raise."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.sync_calls import (
    DEFAULT_DEADLINE_SECONDS,
    UNAVAILABLE,
    CreditDecision,
    CustomerQuery,
    PriceQuote,
    StockAvailability,
    SyncCalls,
    Unavailable,
)
from tests.integrations.fakes.quickbooks import REALM
from tests.integrations.fakes.server import serve

HANG_SECONDS = 3.0


async def credit(request: Request) -> Response:
    who = request.path_params["customer"]
    if who == "slow":
        await asyncio.sleep(HANG_SECONDS)
    if who == "broken":
        return JSONResponse({"error": "boom"}, status_code=500)
    if who == "garbled":
        return Response(b"<html>maintenance</html>", media_type="text/html")
    return JSONResponse({"approved": who != "C9", "balance": "120.50", "credit_limit": "1000", "currency": "EUR"})


async def price(request: Request) -> Response:
    return JSONResponse({"unit_price": "49.90", "currency": "EUR"})


async def stock(request: Request) -> Response:
    if request.path_params["sku"] == "MISSING-FIELD":
        return JSONResponse({"location": "WH-HEL"})
    return JSONResponse({"available": 7, "location": "WH-HEL"})


async def qbo_customer(request: Request) -> Response:
    return JSONResponse({"Customer": {"Id": "7", "Balance": 1500.0, "CurrencyRef": {"value": "EUR"}}})


async def qbo_item(request: Request) -> Response:
    return JSONResponse({"Item": {"Id": request.path_params["id"], "UnitPrice": 65.0}})


async def qbo_query(request: Request) -> Response:
    return JSONResponse({"QueryResponse": {"Item": [{"Sku": "FLT-01", "QtyOnHand": 12}]}})


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/credit/{customer}", credit),
            Route("/price/{item}", price),
            Route("/stock/{sku}", stock),
            Route(f"/v3/company/{REALM}/customer/{{id}}", qbo_customer),
            Route(f"/v3/company/{REALM}/item/{{id}}", qbo_item),
            Route(f"/v3/company/{REALM}/query", qbo_query),
        ]
    )
    with serve(app) as base:
        yield base


def endpoint_calls(url: str, deadline: float | None = None) -> SyncCalls:
    return SyncCalls(
        {
            "credit_check_url": f"{url}/credit/{{customer}}",
            "price_quote_url": f"{url}/price/{{item}}",
            "stock_url": f"{url}/stock/{{sku}}",
        },
        deadline_seconds=deadline,
    )


async def test_answers_are_typed(url: str) -> None:
    calls = endpoint_calls(url)
    assert calls.deadline == DEFAULT_DEADLINE_SECONDS == 2.0
    decision = await calls.credit_check(CustomerQuery("C1", "Kallio Bakery Oy"))
    assert decision == CreditDecision(True, Decimal("120.50"), Decimal("1000"), "EUR")
    assert await calls.credit_check(CustomerQuery("C9", "Late Payer Oy")) == CreditDecision(
        False, Decimal("120.50"), Decimal("1000"), "EUR"
    )
    assert await calls.price_quote("repair") == PriceQuote("repair", Decimal("49.90"), "EUR")
    assert await calls.stock_availability("FLT-01") == StockAvailability("FLT-01", Decimal("7"), "WH-HEL")


async def test_a_hanging_system_gets_the_fallback_within_the_deadline(url: str) -> None:
    # The server would answer after HANG_SECONDS: an Unavailable naming the deadline means the deadline cut it.
    calls = endpoint_calls(url, deadline=0.5)
    started = time.monotonic()
    result = await calls.credit_check(CustomerQuery("slow", "Slow Oy"))
    assert isinstance(result, Unavailable) and result.reason == UNAVAILABLE == "system unavailable, decision needed"
    assert "0.5 s" in result.detail or "Timeout" in result.detail
    assert time.monotonic() - started >= 0.5  # a lower bound holds on any machine; an upper one would not


async def test_a_hanging_system_is_cut_at_two_seconds_by_default(url: str) -> None:
    calls = endpoint_calls(url)
    assert calls.deadline == 2.0
    started = time.monotonic()
    result = await calls.credit_check(CustomerQuery("slow", "Slow Oy"))
    assert isinstance(result, Unavailable) and ("2 s" in result.detail or "Timeout" in result.detail)
    assert time.monotonic() - started >= 2.0


@pytest.mark.parametrize("who", ["broken", "garbled"])
async def test_errors_and_garbage_become_unavailable(url: str, who: str) -> None:
    result = await endpoint_calls(url).credit_check(CustomerQuery(who, who))
    assert isinstance(result, Unavailable) and result.reason == UNAVAILABLE
    assert ("HTTP 500" in result.detail) if who == "broken" else result.detail


async def test_missing_field_unreachable_host_and_no_configuration(url: str) -> None:
    assert isinstance(await endpoint_calls(url).stock_availability("MISSING-FIELD"), Unavailable)
    closed = SyncCalls({"price_quote_url": "http://127.0.0.1:9/price/{item}"})
    assert isinstance(await closed.price_quote("x"), Unavailable)
    nothing = await SyncCalls({}).stock_availability("FLT-01")
    assert isinstance(nothing, Unavailable) and "no stock_url configured" in nothing.detail


async def test_quickbooks_backend(url: str) -> None:
    calls = SyncCalls(
        {"quickbooks_company_url": f"{url}/v3/company/{REALM}", "credit_limit": "1000", "items": {"repair": "1"}}
    )
    decision = await calls.credit_check(CustomerQuery("C1", "Kallio", external_id="7"))
    assert decision == CreditDecision(False, Decimal("1500.0"), Decimal("1000"), "EUR")
    assert await calls.price_quote("repair") == PriceQuote("repair", Decimal("65.0"), None)
    assert await calls.stock_availability("FLT-01") == StockAvailability("FLT-01", Decimal("12"), None)
