"""Questions a dispatcher waits on (credit check, price quote, stock): a short deadline and a typed fallback.

Each call answers within its deadline (2 s by default, enforced by both `httpx.Timeout` and an
`asyncio.timeout` around the whole exchange, token refresh included) with either a typed answer or
`Unavailable(reason="system unavailable, decision needed")`. It never hangs and never raises to its
caller: a timeout, a 5xx, a refused token or a malformed body all become `Unavailable` with a detail.

Two backends: a configured JSON endpoint per question (`credit_check_url`, `price_quote_url`,
`stock_url` settings, URL templates with `{customer}`, `{item}`, `{sku}`), or the QuickBooks
company itself (customer balance against a configured credit limit, an item's UnitPrice and QtyOnHand).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

DEFAULT_DEADLINE_SECONDS = 2.0
UNAVAILABLE = "system unavailable, decision needed"


@dataclass(frozen=True)
class Unavailable:
    """The remote system could not answer in time: the dispatcher decides, knowing why."""

    reason: str = UNAVAILABLE
    detail: str = ""


@dataclass(frozen=True)
class CustomerQuery:
    """Who to check: our code and name, and the customer's id in the remote system when we know it."""

    code: str
    name: str
    external_id: str | None = None


@dataclass(frozen=True)
class CreditDecision:
    approved: bool
    balance: Decimal | None = None
    credit_limit: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class PriceQuote:
    item: str
    unit_price: Decimal
    currency: str | None = None


@dataclass(frozen=True)
class StockAvailability:
    sku: str
    available: Decimal
    location: str | None = None


class _CreditAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    approved: bool
    balance: Decimal | None = None
    credit_limit: Decimal | None = None
    currency: str | None = None


class _PriceAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    unit_price: Decimal
    currency: str | None = None


class _StockAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    available: Decimal
    location: str | None = None


T = TypeVar("T")


class SyncCalls:
    """The three synchronous questions, against a configured endpoint or a QuickBooks company."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        client: httpx.AsyncClient | None = None,
        auth: httpx.Auth | None = None,
        deadline_seconds: float | None = None,
    ) -> None:
        self.settings = dict(settings)
        self.auth = auth
        self.deadline = float(deadline_seconds or self.settings.get("sync_timeout_seconds", DEFAULT_DEADLINE_SECONDS))
        self._client = client

    @classmethod
    def for_connector(cls, connector: Any, client: httpx.AsyncClient | None = None) -> SyncCalls:
        """Use a configured accounting connector's settings and OAuth2 token (QuickBooks answers natively)."""
        settings = dict(getattr(connector, "settings", {}))
        if getattr(connector, "company", None):
            settings.setdefault("quickbooks_company_url", connector.company)
        config = getattr(connector, "config", None)
        if config is not None:
            settings.setdefault("items", dict(config.lookups.get("items", {})))
        return cls(settings, client=client, auth=getattr(connector, "auth", None))

    async def _guard(self, what: str, ask: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T | Unavailable:
        timeout = httpx.Timeout(self.deadline)
        try:
            async with asyncio.timeout(self.deadline):
                if self._client is not None:
                    return await ask(self._client)
                async with httpx.AsyncClient(timeout=timeout) as client:
                    return await ask(client)
        except TimeoutError:
            return Unavailable(detail=f"{what}: no answer within {self.deadline:g} s")
        except httpx.HTTPStatusError as err:
            return Unavailable(detail=f"{what}: HTTP {err.response.status_code}")
        except (httpx.HTTPError, ValidationError, ValueError, KeyError, TypeError) as err:
            return Unavailable(detail=f"{what}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        except Exception as err:  # a dispatcher must get an answer whatever broke
            log.exception("%s failed", what)
            return Unavailable(detail=f"{what}: {type(err).__name__}")

    async def _get_json(self, client: httpx.AsyncClient, url: str, params: Mapping[str, str] | None = None) -> Any:
        response = await client.get(
            url,
            params=dict(params or {}),
            headers={"Accept": "application/json"},
            auth=self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT,
            timeout=httpx.Timeout(self.deadline),
        )
        response.raise_for_status()
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("Fault"), dict):
            raise ValueError(f"Fault {data['Fault'].get('type')}")
        return data

    def _qbo(self) -> str | None:
        url = self.settings.get("quickbooks_company_url")
        return str(url) if url else None

    async def credit_check(self, customer: CustomerQuery) -> CreditDecision | Unavailable:
        async def ask(client: httpx.AsyncClient) -> CreditDecision:
            if (company := self._qbo()) is not None and customer.external_id:
                data = await self._get_json(client, f"{company}/customer/{quote(customer.external_id, safe='')}")
                balance = Decimal(str(data["Customer"]["Balance"]))
                limit = Decimal(str(self.settings.get("credit_limit", "0")))
                currency = (data["Customer"].get("CurrencyRef") or {}).get("value")
                return CreditDecision(balance <= limit, balance, limit, currency)
            url = self._template("credit_check_url", customer=customer.external_id or customer.code)
            answer = _CreditAnswer.model_validate(
                await self._get_json(client, url, {"code": customer.code, "name": customer.name})
            )
            return CreditDecision(answer.approved, answer.balance, answer.credit_limit, answer.currency)

        return await self._guard(f"credit check of {customer.code}", ask)

    async def price_quote(self, item: str) -> PriceQuote | Unavailable:
        """The remote price of a part SKU or a job type (QuickBooks: the item the `items` lookup names)."""

        async def ask(client: httpx.AsyncClient) -> PriceQuote:
            if (company := self._qbo()) is not None:
                data = await self._get_json(client, f"{company}/item/{quote(self._item_id(item), safe='')}")
                return PriceQuote(item, Decimal(str(data["Item"]["UnitPrice"])), None)
            answer = _PriceAnswer.model_validate(
                await self._get_json(client, self._template("price_quote_url", item=item))
            )
            return PriceQuote(item, answer.unit_price, answer.currency)

        return await self._guard(f"price quote for {item}", ask)

    async def stock_availability(self, sku: str) -> StockAvailability | Unavailable:
        async def ask(client: httpx.AsyncClient) -> StockAvailability:
            if (company := self._qbo()) is not None:
                literal = "'" + sku.replace("\\", "\\\\").replace("'", "\\'") + "'"
                data = await self._get_json(
                    client, f"{company}/query", {"query": f"select Sku, QtyOnHand from Item where Sku = {literal}"}
                )
                items = (data.get("QueryResponse") or {}).get("Item") or []
                qty = Decimal(str(items[0].get("QtyOnHand", "0"))) if items else Decimal("0")
                return StockAvailability(sku, qty, None)
            answer = _StockAnswer.model_validate(await self._get_json(client, self._template("stock_url", sku=sku)))
            return StockAvailability(sku, answer.available, answer.location)

        return await self._guard(f"stock of {sku}", ask)

    def _item_id(self, item: str) -> str:
        lookups = self.settings.get("items") or {}
        return str(lookups.get(f"part:{item}") or lookups.get(item) or item)

    def _template(self, key: str, **values: str) -> str:
        template = self.settings.get(key)
        if not template:
            raise ValueError(f"no {key} configured")
        return str(template).format(**{k: quote(v, safe="") for k, v in values.items()})
