"""The field API's request and response bodies: strict at the edge, documented in the OpenAPI spec."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _clean_text(value: str) -> str:
    """Refuse what no database column can hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _sane_moment(value: datetime) -> datetime:
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-01-01")
    return value.astimezone(UTC)


def _sane_day(value: date) -> date:
    if not EARLIEST.date() <= value <= LATEST.date():
        raise ValueError("must be between 2000-01-01 and 2100-01-01")
    return value


def _money_text(value: Any) -> Decimal:
    """Money travels as a decimal string ("12.50"): a JSON number would be a float somewhere."""
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "12.50", never a number')
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal amount") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2 or abs(amount) >= Decimal("1e10"):  # type: ignore[operator]
        raise ValueError("must be a finite amount with at most 2 decimals and below 10,000,000,000")
    return amount


MONEY_PATTERN = r"^-?\d{1,10}(\.\d{1,2})?$"
Text = Annotated[str, AfterValidator(_clean_text)]
Moment = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
Day = Annotated[date, AfterValidator(_sane_day)]
Money = Annotated[
    Decimal,
    BeforeValidator(_money_text),
    PlainSerializer(lambda d: str(d), return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["12.50"]}),
]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: str(d), return_type=str), WithJsonSchema({"type": "string"})]
# Strict: a JSON number only. `true` is not 1.0 and "60.1" is not a coordinate.
Latitude = Annotated[
    float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude", examples=[60.17])
]
Longitude = Annotated[
    float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude", examples=[24.94])
]
JobRef = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,31}$", examples=["J000042"])]
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
ClientId = Annotated[str, Field(min_length=1, max_length=100, pattern=CLIENT_ID_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- errors ----------------------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable name", examples=["illegal_transition"])
    message: str = Field(description="What is wrong, naming the record and field", examples=["job J000042 ..."])
    field: str | None = Field(default=None, description="The input field at fault, when there is one")


class ErrorResponse(BaseModel):
    error: ErrorBody


# --- who I am ------------------------------------------------------------------------------------------


class Me(BaseModel):
    technician: str = Field(description="Technician code", examples=["T1"])
    name: str
    branch: str
    timezone: str = Field(examples=["Europe/Helsinki"])
    token_id: int
    status: str
    skills: dict[str, int]
    last_seen_at: datetime | None
    last_lat: float | None
    last_lon: float | None


# --- job context ---------------------------------------------------------------------------------------


class CustomerOut(BaseModel):
    code: str
    name: str
    email: str | None
    phone: str | None
    notes: str | None
    preferences: dict[str, str]


class ContactOut(BaseModel):
    name: str
    role: str | None
    email: str | None
    phone: str | None
    primary: bool


class SiteOut(BaseModel):
    code: str
    name: str
    address: str
    postcode: str | None
    city: str | None
    lat: float
    lon: float
    access_notes: str | None


class AssetOut(BaseModel):
    kind: str
    model: str
    serial: str
    install_date: date | None
    warranty_end: date | None
    under_warranty: bool = Field(description="Whether the warranty is valid on the job's day")


class ContractOut(BaseModel):
    code: str
    name: str
    sla_response_hours: int
    covered_job_types: list[str]
    covered_part_skus: list[str]
    valid_from: date
    valid_to: date
    in_force: bool = Field(description="Whether the contract is valid on the job's day")


class MessageIn(Strict):
    """A message to the office: on a job's thread (`job_ref`, one of mine) or on my own thread."""

    body: Annotated[Text, Field(min_length=1, max_length=2000)] = Field(examples=["Customer asks for a call first"])
    job_ref: JobRef | None = None
    at: Moment | None = None


class MessageOut(BaseModel):
    id: int
    thread: str = Field(description="job:<id> or technician:<id>")
    job_ref: str | None
    author: str
    author_kind: str = Field(description="dispatcher (the office) or technician")
    body: str
    created_at: datetime


class MessagesOut(BaseModel):
    messages: list[MessageOut]
    unread: int = Field(description="Messages from the office I have not read")


class NoteOut(BaseModel):
    author: str
    author_kind: str
    body: str
    created_at: datetime


class FileOut(BaseModel):
    """An uploaded photo or signature image; `uri` serves the bytes to whoever may see the job."""

    id: int
    job: str
    kind: Literal["photo", "signature"]
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    uri: str
    photo_id: int | None = None
    created_at: datetime
    repeated: bool = Field(default=False, description="True when this client_file_id had been uploaded before")


class PhotoOut(BaseModel):
    id: int
    uri: str
    caption: str | None
    taken_at: datetime
    file_id: int | None = None


class VisitOut(BaseModel):
    """An earlier visit at the same site, so the technician knows its history before arriving."""

    ref: str
    type: str
    status: str
    summary: str
    technician: str | None
    arrived_at: datetime | None
    actual_end: datetime | None
    resolution_code: str | None
    report_notes: str | None
    notes: list[NoteOut]


class OfferOut(BaseModel):
    """An open offer of the customer that their CRM marked for follow-up on site, and what was answered."""

    id: int
    system: str = Field(description="The CRM connector it came from")
    kind: str = Field(description="The CRM's word for it: deal, opportunity, quote")
    title: str
    description: str | None
    amount: MoneyOut | None
    currency: str | None
    open: bool
    response: Literal["none", "interested", "accepted"]
    note: str | None
    responded_by: str | None
    responded_at: datetime | None
    quote_ref: str | None = Field(description="The quote an acceptance became here, if any")


class JobOut(BaseModel):
    ref: str
    type: str
    status: str
    priority: int = Field(description="1 = emergency ... 4 = whenever")
    summary: str
    version: int
    arrived_at: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None


class JobContext(JobOut):
    description: str | None
    duration_minutes: int
    window_start: datetime | None
    window_end: datetime | None
    sla_due: datetime | None
    planned_start: datetime | None
    planned_end: datetime | None
    required_skills: dict[str, int]
    customer: CustomerOut
    contacts: list[ContactOut]
    site: SiteOut
    asset: AssetOut | None
    contract: ContractOut | None
    notes: list[NoteOut]
    photos: list[PhotoOut]
    previous_visits: list[VisitOut]
    offers: list[OfferOut] = Field(description="The customer's open CRM offers to bring up on site")


class DayOut(BaseModel):
    technician: str
    date: date
    timezone: str
    jobs: list[JobContext]


class StockLine(BaseModel):
    sku: str
    name: str
    quantity: int
    serial_tracked: bool
    list_price: MoneyOut


class StockOut(BaseModel):
    location: str
    lines: list[StockLine]


# --- field actions -------------------------------------------------------------------------------------

FieldStatus = Literal["en_route", "on_site", "paused", "dispatched", "incomplete", "completed"]


class StatusIn(Strict):
    status: FieldStatus = Field(
        description=(
            "en_route, on_site (also resumes a pause), paused, dispatched (turned back), incomplete (needs a "
            "reason). 'completed' is refused here: send a completion report instead."
        ),
        examples=["on_site"],
    )
    reason: Annotated[Text, Field(max_length=500)] | None = Field(default=None, examples=["Customer not home"])
    at: Moment | None = Field(default=None, description="When it happened on the phone (default: now)")


class PositionIn(Strict):
    lat: Latitude
    lon: Longitude
    at: Moment | None = Field(default=None, description="When the fix was taken (default: now)")


class PositionsIn(Strict):
    positions: list[PositionIn] = Field(min_length=1, max_length=500)


def _position_shape(value: Any) -> str:
    return "PositionsIn" if isinstance(value, dict) and "positions" in value else "PositionIn"


PositionsBody = Annotated[
    Annotated[PositionIn, Tag("PositionIn")] | Annotated[PositionsIn, Tag("PositionsIn")],
    Discriminator(_position_shape),
]


class PositionsOut(BaseModel):
    recorded: int


class NoteIn(Strict):
    body: Annotated[Text, Field(min_length=1, max_length=4000)] = Field(examples=["Gate code changed to 4455"])
    at: Moment | None = None


class PhotoIn(Strict):
    uri: Annotated[Text, Field(min_length=1, max_length=500)] = Field(
        description="Where the phone stored the photo", examples=["s3://field-photos/J000042/1.jpg"]
    )
    caption: Annotated[Text, Field(max_length=300)] | None = None
    taken_at: Moment | None = None


class SignatureIn(Strict):
    signer_name: Annotated[Text, Field(min_length=1, max_length=200)] = Field(examples=["Maija Virtanen"])
    signed_at: Moment
    summary_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        description="SHA-256 (hex) of the work summary the customer signed"
    )
    image: ClientId | None = Field(
        default=None, description="client_file_id of the signature image uploaded to /v1/jobs/{ref}/files"
    )


ClockActName = Literal["clock_in", "break_start", "break_end", "clock_out"]


class ClockIn(Strict):
    act: ClockActName = Field(description="clock_in, break_start, break_end or clock_out", examples=["clock_in"])
    at: Moment | None = Field(default=None, description="When it happened on the phone (default: now)")


class ClockOut(BaseModel):
    state: Literal["off", "working", "on_break"]
    since: datetime | None = Field(description="When the current state began")
    shift_started_at: datetime | None
    local_day: date | None


class QuoteLineIn(Strict):
    description: Annotated[Text, Field(min_length=1, max_length=300)]
    quantity: Money = Field(description='Decimal string, e.g. "1" or "2.5"')
    unit_price: Money
    kind: Literal["labour", "part", "callout", "expense", "discount"] = "labour"


class QuoteIn(Strict):
    summary: Annotated[Text, Field(min_length=1, max_length=300)] = Field(examples=["Replace the condensate pump"])
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=50)
    duration_minutes: int = Field(ge=1, le=1440)
    job_type: Literal["install", "repair", "maintenance", "inspection"] = "repair"


class OfferAnswerIn(Strict):
    offer_id: int = Field(ge=1, description="An offer listed in the job's `offers`")
    response: Literal["interested", "accepted"]
    note: Annotated[Text, Field(max_length=4000)] | None = None
    duration_minutes: int = Field(60, ge=1, le=1440, description="Of the quote an acceptance becomes")


class QuoteOut(BaseModel):
    ref: str
    job: str
    status: str
    currency: str
    total: MoneyOut


class ActionOut(BaseModel):
    job: str
    kind: str
    id: int | None = None


# --- offline sync --------------------------------------------------------------------------------------

ClientEventKind = Literal[
    "status", "position", "note", "photo", "signature", "completion", "clock", "quote", "offer", "message"
]


class ClientEventIn(Strict):
    client_event_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] = Field(
        description="The phone's own id for this event; a replay with the same id changes nothing",
        examples=["a3f9c2d0-0001"],
    )
    type: ClientEventKind
    occurred_at: Moment = Field(description="When it happened by the phone's clock; items apply in this order")
    job_ref: JobRef | None = None
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "The body of the matching single endpoint: status -> StatusIn, position -> PositionIn, note -> NoteIn, "
            "photo -> PhotoIn, signature -> SignatureIn, completion -> CompletionIn, clock -> ClockIn, "
            "quote -> QuoteIn, offer -> OfferAnswerIn (times default to occurred_at)"
        ),
    )


class SyncIn(Strict):
    events: list[ClientEventIn] = Field(min_length=1, max_length=500)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "client_event_id": "ph1-0001",
                            "type": "status",
                            "occurred_at": "2026-11-25T09:02:00+02:00",
                            "job_ref": "J000042",
                            "payload": {"status": "en_route"},
                        },
                        {
                            "client_event_id": "ph1-0002",
                            "type": "position",
                            "occurred_at": "2026-11-25T09:05:00+02:00",
                            "payload": {"lat": 60.17, "lon": 24.94},
                        },
                    ]
                }
            ]
        },
    )


class SyncItemOut(BaseModel):
    client_event_id: str
    type: str
    outcome: Literal["applied", "duplicate", "rejected"]
    code: str | None = None
    reason: str | None = None
    field: str | None = None
    retryable: bool = Field(default=False, description="A transient refusal (concurrent edit): send it again")


class SyncOut(BaseModel):
    applied: int
    duplicate: int
    rejected: int
    results: list[SyncItemOut] = Field(description="One answer per item, in the order they were applied")


# --- completion ----------------------------------------------------------------------------------------


class PartIn(Strict):
    sku: Annotated[Text, Field(min_length=1, max_length=40)] = Field(examples=["FLT-01"])
    quantity: int = Field(ge=1, le=1000, examples=[1])
    serials: list[Annotated[Text, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=1000, description="One per unit for serial-tracked parts"
    )


class ExpenseIn(Strict):
    kind: Annotated[Text, Field(min_length=1, max_length=40)] = Field(examples=["parking"])
    description: Annotated[Text, Field(min_length=1, max_length=300)]
    amount: Money
    receipt_ref: Annotated[Text, Field(max_length=200)] | None = None


class FollowUpIn(Strict):
    description: Annotated[Text, Field(min_length=1, max_length=2000)]
    duration_minutes: int = Field(ge=1, le=1440)
    skills: dict[Annotated[str, Field(min_length=1, max_length=40)], Annotated[int, Field(ge=1, le=5)]] | None = Field(
        default=None, max_length=20, description="Default: the same skills as this job"
    )


class SignatureTextIn(Strict):
    signer_name: Annotated[Text, Field(min_length=1, max_length=200)]
    signed_at: Moment
    summary: Annotated[Text, Field(min_length=1, max_length=20000)] = Field(
        description="The text the customer signed; the server keeps only its SHA-256"
    )
    image: ClientId | None = Field(
        default=None, description="client_file_id of the signature image uploaded to /v1/jobs/{ref}/files"
    )


class CompletionIn(Strict):
    outcome: Literal["completed", "incomplete"] = Field(
        default="completed", description="incomplete: the job needs another visit (describe it in follow_up)"
    )
    actual_start: Moment = Field(description="When work started on site")
    actual_end: Moment | None = Field(default=None, description="When work ended (default: now / occurred_at)")
    labour_minutes: int = Field(ge=0, le=1440, examples=[75])
    travel_minutes: int = Field(ge=0, le=1440, examples=[20])
    resolution_code: Annotated[Text, Field(min_length=1, max_length=40)] = Field(examples=["REPLACED_PART"])
    first_time_fix: bool = True
    parts: list[PartIn] = Field(default_factory=list, max_length=100)
    expenses: list[ExpenseIn] = Field(default_factory=list, max_length=100)
    follow_up: FollowUpIn | None = None
    signature: SignatureTextIn | None = None
    notes: Annotated[Text, Field(max_length=4000)] | None = None
    client_event_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")] | None = Field(
        default=None, description="Send the same id again and the report is not written twice"
    )


class CompletionOut(BaseModel):
    job: str
    status: str
    report_id: int
    invoice_ref: str | None
    invoice_total: MoneyOut | None
    follow_up_ref: str | None
    part_return_ids: list[int]
    repeated: bool = Field(description="True when this report had been received before")
