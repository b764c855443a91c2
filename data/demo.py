"""A seeded Helsinki field-service company, so a newcomer, a test or a benchmark has a realistic day at once.

Everything is derived from `random.Random(seed)` and the chosen day, never the wall clock, so the same
seed and day give the same rows. Rows go in with bulk inserts inside one unit of work, which also
appends one `demo.built` event: the company appears whole or not at all.
"""

from __future__ import annotations

import math
import random
import time as wallclock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from data.actor import Actor
from data.db import Database
from data.errors import InvalidInput
from data.maps.demo_map import DEMO_GRAPH_BRANCHES, demo_graph, demo_layer
from data.models import (
    Absence,
    AbsenceKind,
    Asset,
    Base,
    Branch,
    CompletionReport,
    Contact,
    Contract,
    Customer,
    Expense,
    InvoiceDraft,
    InvoiceLine,
    InvoiceSeries,
    InvoiceStatus,
    Job,
    JobNote,
    JobSkill,
    JobStatus,
    JobType,
    MaintenancePlan,
    NoteAuthorKind,
    Part,
    PartReturn,
    PartUsed,
    PriceList,
    ReportOutcome,
    ReturnDisposition,
    ReturnStatus,
    Role,
    ShiftException,
    ShiftPattern,
    Site,
    Skill,
    StockLevel,
    StockLocation,
    StockLocationKind,
    Technician,
    TechnicianSkill,
    TechnicianStatus,
    Timesheet,
    TimesheetStatus,
    User,
)
from data.models.base import advance_sequences
from data.services.branch_maps import store_branch_map_in
from data.services.completion import signature_hash
from data.services.invoice_numbers import SeriesKind, series_ref
from data.services.invoicing import (
    Cover,
    ExpenseCharge,
    PartCharge,
    PricedVisit,
    Visit,
    contract_covers_visit,
    part_cover,
    price_visit,
)
from data.services.timesheets import Rules, split_overtime
from data.services.users import os_login
from data.uow import UnitOfWork
from optimizer.model import Location
from optimizer.travel import haversine_km

TZ = "Europe/Helsinki"
ZONE = ZoneInfo(TZ)
DEMO_ACTOR = Actor(login="system", role=Role.ADMIN, source="demo")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LandArea:
    """A hand-drawn box inside one neighbourhood, kept clear of shorelines so no point lands in the sea."""

    name: str
    city: str
    postcode: str
    branch: str
    lat_min: float
    lat_max: float
    lon_min: float
    lon_max: float
    streets: tuple[str, ...]

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat_min <= lat <= self.lat_max and self.lon_min <= lon <= self.lon_max


LAND_AREAS: tuple[LandArea, ...] = (
    LandArea(
        "Kallio",
        "Helsinki",
        "00530",
        "HEL-C",
        60.1815,
        60.1880,
        24.9420,
        24.9560,
        ("Fleminginkatu", "Helsinginkatu", "Vaasankatu", "Porthaninkatu", "Kolmas linja"),
    ),
    LandArea(
        "Taka-Töölö",
        "Helsinki",
        "00250",
        "HEL-C",
        60.1820,
        60.1900,
        24.9140,
        24.9270,
        ("Runeberginkatu", "Topeliuksenkatu", "Mannerheimintie", "Sibeliuksenkatu"),
    ),
    LandArea(
        "Kamppi",
        "Helsinki",
        "00100",
        "HEL-C",
        60.1640,
        60.1700,
        24.9290,
        24.9400,
        ("Fredrikinkatu", "Annankatu", "Lapinlahdenkatu", "Malminkatu"),
    ),
    LandArea(
        "Pasila",
        "Helsinki",
        "00520",
        "HEL-C",
        60.1960,
        60.2040,
        24.9260,
        24.9420,
        ("Ratapihantie", "Asemapäällikönkatu", "Pasilanraitio", "Opastinsilta"),
    ),
    LandArea(
        "Käpylä",
        "Helsinki",
        "00610",
        "HEL-C",
        60.2120,
        60.2220,
        24.9460,
        24.9650,
        ("Mäkitorpantie", "Koskelantie", "Pohjolankatu", "Kullervonkatu"),
    ),
    LandArea(
        "Oulunkylä",
        "Helsinki",
        "00640",
        "HEL-C",
        60.2250,
        60.2330,
        24.9580,
        24.9760,
        ("Siltavoudintie", "Kylänvanhimmantie", "Larin Kyöstin tie"),
    ),
    LandArea(
        "Malmi",
        "Helsinki",
        "00700",
        "HEL-C",
        60.2460,
        60.2560,
        25.0050,
        25.0260,
        ("Kirkonkyläntie", "Latokartanontie", "Malminkaari", "Kunnantie"),
    ),
    LandArea(
        "Itäkeskus",
        "Helsinki",
        "00930",
        "HEL-C",
        60.2060,
        60.2140,
        25.0720,
        25.0930,
        ("Itäkatu", "Turunlinnantie", "Kauppakartanonkatu", "Asiakkaankatu"),
    ),
    LandArea(
        "Herttoniemi",
        "Helsinki",
        "00810",
        "HEL-C",
        60.1930,
        60.2000,
        25.0280,
        25.0400,
        ("Hiihtäjäntie", "Linnanrakentajantie", "Siilitie", "Kettutie"),
    ),
    LandArea(
        "Vuosaari",
        "Helsinki",
        "00980",
        "HEL-C",
        60.2060,
        60.2140,
        25.1360,
        25.1520,
        ("Vuotie", "Mustalahdentie", "Kahvikuja", "Ulappasaarentie"),
    ),
    LandArea(
        "Haaga",
        "Helsinki",
        "00320",
        "HEL-C",
        60.2150,
        60.2240,
        24.8850,
        24.9080,
        ("Eliel Saarisen tie", "Vanha Hämeenkyläntie", "Hopeatie", "Kaupintie"),
    ),
    LandArea(
        "Kannelmäki",
        "Helsinki",
        "00420",
        "HEL-C",
        60.2380,
        60.2470,
        24.8720,
        24.8920,
        ("Kantelettarentie", "Klaneettitie", "Sitratori", "Vihdintie"),
    ),
    LandArea(
        "Leppävaara",
        "Espoo",
        "02600",
        "ESP",
        60.2150,
        60.2240,
        24.8000,
        24.8230,
        ("Leppävaarankatu", "Hevosenkenkä", "Säterinkatu", "Alberganesplanadi"),
    ),
    LandArea(
        "Tapiola",
        "Espoo",
        "02100",
        "ESP",
        60.1750,
        60.1820,
        24.7970,
        24.8130,
        ("Tapiontori", "Itätuulenkuja", "Kauppamiehentie", "Merituulentie"),
    ),
    LandArea(
        "Olari",
        "Espoo",
        "02210",
        "ESP",
        60.1700,
        60.1780,
        24.7280,
        24.7440,
        ("Olarinkatu", "Kuunkehrä", "Piispansilta", "Friisinmäentie"),
    ),
    LandArea(
        "Matinkylä",
        "Espoo",
        "02230",
        "ESP",
        60.1600,
        60.1660,
        24.7360,
        24.7530,
        ("Piispansilta", "Matinkartanontie", "Suomenlahdentie", "Tynnyrintekijänkatu"),
    ),
    LandArea(
        "Espoon keskus",
        "Espoo",
        "02770",
        "ESP",
        60.2010,
        60.2090,
        24.6500,
        24.6680,
        ("Kirkkojärventie", "Espoonkatu", "Kamreerintie", "Siltakatu"),
    ),
    LandArea(
        "Kauklahti",
        "Espoo",
        "02780",
        "ESP",
        60.1890,
        60.1950,
        24.5900,
        24.6050,
        ("Kauklahdenväylä", "Hansakallio", "Kurttilantie"),
    ),
    LandArea(
        "Laaksolahti",
        "Espoo",
        "02740",
        "ESP",
        60.2360,
        60.2440,
        24.7500,
        24.7700,
        ("Laaksolahdentie", "Kotkatie", "Lahnaruohontie", "Ruukinrannantie"),
    ),
)

# (code, name, time zone, depot lat/lon, rough service area polygon as [lon, lat])
BRANCHES: tuple[tuple[str, str, float, float, list[list[float]]], ...] = (
    (
        "HEL-C",
        "Helsinki central",
        60.1990,
        24.9335,
        [[24.86, 60.16], [25.16, 60.19], [25.16, 60.26], [24.86, 60.26], [24.86, 60.16]],
    ),
    (
        "ESP",
        "Espoo / West",
        60.2185,
        24.7810,
        [[24.58, 60.15], [24.83, 60.15], [24.83, 60.25], [24.58, 60.25], [24.58, 60.15]],
    ),
)

SKILLS: tuple[tuple[str, str], ...] = (
    ("hvac", "Heating, ventilation and air conditioning"),
    ("heat_pump", "Heat pumps"),
    ("plumbing", "Plumbing"),
    ("electrical", "Electrical"),
    ("gas", "Gas appliances"),
    ("refrigeration", "Commercial refrigeration"),
    ("elevators", "Elevators and lifts"),
)

# Trade profiles: (weight, main skill, level range, secondary skills with level ranges).
PROFILES: tuple[tuple[int, str, tuple[int, int], tuple[tuple[str, int, int], ...]], ...] = (
    (6, "hvac", (2, 5), (("heat_pump", 1, 3), ("electrical", 1, 2))),
    (4, "plumbing", (2, 5), (("gas", 1, 2), ("heat_pump", 1, 2))),
    (4, "electrical", (2, 5), (("hvac", 1, 2),)),
    (3, "heat_pump", (2, 4), (("hvac", 1, 3), ("refrigeration", 1, 2))),
    (2, "gas", (2, 4), (("plumbing", 1, 3), ("hvac", 1, 2))),
    (2, "refrigeration", (2, 5), (("hvac", 1, 3), ("electrical", 1, 2))),
    (2, "elevators", (2, 5), (("electrical", 1, 3),)),
)

# Per skill: (job type, summary, durations in minutes, minimum level, priority weights 1..4).
JOB_KINDS: dict[str, tuple[tuple[JobType, str, tuple[int, ...], int], ...]] = {
    "hvac": (
        (JobType.REPAIR, "Ventilation unit not starting", (60, 90), 2),
        (JobType.REPAIR, "No heating in the flat", (45, 60, 90), 1),
        (JobType.MAINTENANCE, "Annual ventilation service", (60, 90, 120), 1),
        (JobType.INSPECTION, "Ventilation air flow measurement", (45, 60), 2),
        (JobType.INSTALL, "Install air handling unit", (180, 240), 3),
    ),
    "heat_pump": (
        (JobType.REPAIR, "Heat pump shows an error code", (60, 90), 2),
        (JobType.MAINTENANCE, "Heat pump annual service", (60, 90), 1),
        (JobType.INSTALL, "Install air-to-water heat pump", (240,), 3),
    ),
    "plumbing": (
        (JobType.REPAIR, "Leaking pipe under the sink", (45, 60), 1),
        (JobType.REPAIR, "Blocked floor drain", (30, 45, 60), 1),
        (JobType.MAINTENANCE, "Water heater descaling", (60, 90), 2),
        (JobType.INSTALL, "Replace water heater", (120, 180), 3),
    ),
    "electrical": (
        (JobType.REPAIR, "Breaker keeps tripping", (45, 60, 90), 2),
        (JobType.REPAIR, "Stairwell lighting fault", (30, 45, 60), 1),
        (JobType.INSPECTION, "Electrical safety inspection", (60, 90, 120), 3),
        (JobType.INSTALL, "EV charger installation", (180, 240), 3),
    ),
    "gas": (
        (JobType.REPAIR, "Gas boiler in lockout", (60, 90), 2),
        (JobType.INSPECTION, "Gas appliance safety check", (45, 60), 2),
        (JobType.MAINTENANCE, "Gas boiler service", (60, 90), 2),
    ),
    "refrigeration": (
        (JobType.REPAIR, "Cold room temperature alarm", (60, 90, 120), 2),
        (JobType.MAINTENANCE, "Refrigerant leak test", (60, 90), 2),
        (JobType.INSPECTION, "Freezer display case check", (45, 60), 1),
    ),
    "elevators": (
        (JobType.REPAIR, "Elevator out of service", (60, 90, 120), 3),
        (JobType.MAINTENANCE, "Elevator monthly service", (45, 60), 2),
        (JobType.INSPECTION, "Elevator periodic inspection", (90, 120), 3),
    ),
}

ASSET_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "hvac": ("air handling unit", ("Swegon GOLD RX 12", "Vallox 145 MV", "Enervent Pingvin eco"), "AHU"),
    "heat_pump": ("heat pump", ("NIBE F2120", "Mitsubishi Ecodan PUZ", "Daikin Altherma 3"), "HP"),
    "plumbing": ("water heater", ("Jäspi Favorit 300", "OSO Saga 200", "Gebwell Taurus"), "WH"),
    "electrical": ("EV charger", ("ABB Terra AC", "Easee Home", "Zaptec Go"), "EV"),
    "gas": ("gas boiler", ("Viessmann Vitodens 200", "Vaillant ecoTEC plus", "Buderus GB192i"), "GB"),
    "refrigeration": ("cold room", ("Huurre Cold Room 12", "Carrier Optima", "Viessmann TectoCell"), "CR"),
    "elevators": ("elevator", ("KONE MonoSpace 500", "Schindler 3300", "Otis Gen2"), "EL"),
}

# sku, name, unit cost, list price, serial tracked, supplier
PARTS: tuple[tuple[str, str, str, str, bool, str], ...] = (
    ("FLT-F7-592", "Bag filter F7 592x592", "11.40", "29.90", False, "Camfil"),
    ("FLT-M5-287", "Panel filter M5 287x592", "6.20", "16.50", False, "Camfil"),
    ("FLT-KIT-VAL", "Vallox filter kit", "24.00", "54.00", False, "Vallox"),
    ("BLT-SPA-1250", "V-belt SPA 1250", "8.90", "21.00", False, "Gates"),
    ("MTR-EC-250", "EC fan motor 250 W", "310.00", "589.00", True, "ebm-papst"),
    ("THR-NTC-10K", "NTC sensor 10 kOhm", "7.80", "22.00", False, "Ouman"),
    ("CTL-OUMAN-S203", "Ouman S203 heating controller", "420.00", "760.00", True, "Ouman"),
    ("VLV-3W-DN20", "3-way mixing valve DN20", "96.00", "185.00", False, "Danfoss"),
    ("ACT-24V-5NM", "Valve actuator 24 V 5 Nm", "118.00", "229.00", False, "Belimo"),
    ("PMP-ALPHA2-25", "Circulation pump Alpha2 25-60", "205.00", "389.00", True, "Grundfos"),
    ("HP-FAN-MTR", "Heat pump outdoor fan motor", "260.00", "495.00", True, "NIBE"),
    ("HP-EXP-VLV", "Electronic expansion valve", "145.00", "298.00", False, "Danfoss"),
    ("HP-PCB-MAIN", "Heat pump main control board", "480.00", "890.00", True, "Mitsubishi"),
    ("REF-R32-9KG", "Refrigerant R32 cylinder 9 kg", "190.00", "340.00", True, "Linde"),
    ("REF-R404A-10KG", "Refrigerant R404A cylinder 10 kg", "260.00", "470.00", True, "Linde"),
    ("REF-DRIER-16", "Filter drier 16 mm", "18.50", "42.00", False, "Danfoss"),
    ("REF-CMP-SC15", "Compressor SC15G", "340.00", "640.00", True, "Secop"),
    ("REF-DOOR-GSK", "Cold room door gasket 2 m", "38.00", "85.00", False, "Huurre"),
    ("PLB-PEX-16", "PEX pipe 16 mm, 10 m", "14.00", "32.00", False, "Uponor"),
    ("PLB-CU-15-ELB", "Copper elbow 15 mm", "1.10", "3.90", False, "Uponor"),
    ("PLB-TRAP-32", "Sink trap 32 mm", "9.50", "24.00", False, "Oras"),
    ("PLB-FAUCET-KIT", "Kitchen faucet Oras Cubista", "118.00", "219.00", False, "Oras"),
    ("PLB-WH-ANODE", "Water heater anode rod", "22.00", "55.00", False, "Jäspi"),
    ("PLB-WH-ELEM-3KW", "Heating element 3 kW", "48.00", "105.00", False, "Jäspi"),
    ("PLB-SAFETY-VLV", "Safety valve 10 bar", "19.00", "46.00", False, "Watts"),
    ("ELE-MCB-C16", "Circuit breaker C16", "6.80", "17.90", False, "ABB"),
    ("ELE-RCD-40", "Residual current device 40 A", "39.00", "89.00", False, "ABB"),
    ("ELE-LED-PANEL", "LED panel 36 W", "28.00", "64.00", False, "Airam"),
    ("ELE-CABLE-MMJ-3X2.5", "Cable MMJ 3x2.5, 50 m", "54.00", "112.00", False, "Draka"),
    ("ELE-EVSE-ABB", "ABB Terra AC wallbox", "640.00", "1190.00", True, "ABB"),
    ("ELE-CONTACTOR-25", "Contactor 25 A", "31.00", "72.00", False, "Schneider"),
    ("GAS-IGN-ELEC", "Ignition electrode", "17.00", "44.00", False, "Viessmann"),
    ("GAS-FLAME-SENS", "Flame sensor", "26.00", "63.00", False, "Vaillant"),
    ("GAS-VALVE-SIT", "Gas valve SIT 848", "165.00", "320.00", True, "SIT"),
    ("GAS-HOSE-1M", "Gas hose 1 m", "12.00", "29.00", False, "Viessmann"),
    ("ELV-DOOR-ROLLER", "Elevator door roller", "14.00", "38.00", False, "KONE"),
    ("ELV-LIGHT-CURT", "Elevator light curtain", "310.00", "620.00", True, "Cedes"),
    ("ELV-BUTTON-SET", "Landing call button set", "58.00", "130.00", False, "Schindler"),
    ("ELV-BRAKE-PAD", "Machine brake lining set", "220.00", "455.00", False, "KONE"),
    ("ELV-INV-DRV", "Elevator inverter drive", "980.00", "1850.00", True, "KONE"),
)

FIRST_NAMES = (
    "Aino",
    "Eero",
    "Mikko",
    "Laura",
    "Juha",
    "Satu",
    "Antti",
    "Heikki",
    "Jenni",
    "Timo",
    "Kaisa",
    "Ville",
    "Petri",
    "Hanna",
    "Jari",
    "Sanna",
    "Tuomas",
    "Riikka",
    "Matti",
    "Elina",
    "Janne",
    "Noora",
    "Sami",
    "Pekka",
    "Katja",
    "Olli",
    "Minna",
    "Lauri",
    "Tiina",
    "Markus",
    "Emilia",
    "Aleksi",
    "Johanna",
    "Kalle",
)
LAST_NAMES = (
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
    "Lindqvist",
    "Nyström",
    "Grönroos",
    "Holmberg",
)
COMPANY_WORDS = (
    "Kahvila",
    "Leipomo",
    "Ravintola",
    "Kiinteistö",
    "Hammaslääkäri",
    "Kukkakauppa",
    "Kuntosali",
    "Päiväkoti",
    "Optiikka",
    "Kampaamo",
    "Autokorjaamo",
    "Toimisto",
    "Hotelli",
    "Market",
    "Apteekki",
    "Pesula",
)
COMPANY_NAMES = (
    "Aurora",
    "Kuu",
    "Sampo",
    "Pohjola",
    "Kielo",
    "Ilves",
    "Tähti",
    "Meri",
    "Kide",
    "Ruska",
    "Lumi",
    "Helmi",
    "Karhu",
    "Saaristo",
    "Kaleva",
    "Vanamo",
    "Otava",
    "Vaahtera",
    "Kivi",
    "Sisu",
)
ACCESS_NOTES = (
    "Key in the lockbox by the back door, code 4721.",
    "Call the caretaker 15 minutes before arrival.",
    "Parking in the courtyard, entrance from the side street.",
    "Technical room in the basement, door B.",
    "Reception on the ground floor signs visitors in.",
    "Dog on the premises: ring and wait.",
    "Loading dock access only before 10:00.",
    "Elevator machine room key at the property office.",
    None,
    None,
)
PREFERENCES = (
    {"visits": "mornings only"},
    {"contact": "call before arrival"},
    {"language": "Swedish preferred"},
    {"visits": "not on Fridays"},
    {"invoice": "e-invoice only"},
)
TECH_NOTES_DONE = (
    "Replaced the filters, system tested OK.",
    "Cleaned and adjusted; customer satisfied.",
    "Fault found in the sensor, replaced, running normally.",
    "Service done according to the checklist.",
    "Pressure tested, no leaks found.",
    "Tightened connections and reset the controller.",
)
TECH_NOTES_INCOMPLETE = (
    "Part not on the van: ordered, follow-up visit needed.",
    "Customer not home, could not access the site.",
    "Needs a second technician for the lift; rebooking.",
    "Found a larger fault, quote to be sent.",
)

# Resolution codes a technician picks on the phone, by what happened on the visit.
RESOLUTIONS_FIXED: dict[JobType, tuple[str, ...]] = {
    JobType.REPAIR: ("FIXED", "REPLACED_PART", "ADJUSTED", "RESET_CONTROLLER"),
    JobType.MAINTENANCE: ("SERVICED",),
    JobType.INSPECTION: ("INSPECTED_OK", "INSPECTED_REMARKS"),
    JobType.INSTALL: ("INSTALLED", "COMMISSIONED"),
}
RESOLUTIONS_INCOMPLETE = ("PART_ORDERED", "NO_ACCESS", "NEEDS_SECOND_TECHNICIAN", "QUOTE_NEEDED")  # as the notes
RESOLUTION_TEMPORARY = "TEMPORARY_FIX"
TECH_NOTES_TEMPORARY = (
    "Temporary fix in place; the replacement part is on order.",
    "Running again, but the fault recurs under load: follow-up booked.",
)
EXPENSES: tuple[tuple[str, str, str, str], ...] = (
    ("parking", "Street parking", "3.60", "14.40"),
    ("parking", "Parking garage", "6.00", "22.00"),
    ("toll", "Ferry and bridge fees", "8.00", "18.00"),
    ("materials", "Fittings from the hardware store", "9.90", "64.00"),
)
# Preventive plans: (skill, interval months, season months) with the summary from JOB_KINDS where there is one.
PLAN_RHYTHM: dict[str, tuple[int, tuple[int, ...]]] = {
    "hvac": (12, (4, 5, 9, 10)),
    "heat_pump": (12, (5, 6, 8, 9)),
    "plumbing": (24, ()),
    "electrical": (60, ()),
    "gas": (12, (8, 9, 10)),
    "refrigeration": (6, ()),
    "elevators": (1, ()),
}
# Share of contract visits reached on site after their SLA deadline.
SLA_LATE_SHARE = 0.08
# Share of completed visits closed with a temporary fix that needs a follow-up visit.
NOT_FIXED_SHARE = 0.06

SLA_HOURS = (4, 8, 24, 48)
BRANCH_TAX_RATE = Decimal("0.255")
# Most of a service company's day is repairs and maintenance; installations are rarer and long.
TYPE_WEIGHTS = {JobType.REPAIR: 5, JobType.MAINTENANCE: 4, JobType.INSPECTION: 2, JobType.INSTALL: 1}
JOB_TYPES = tuple(JobType)


@dataclass
class DemoSummary:
    seed: int
    day: date
    counts: dict[str, int]
    seconds: float
    jobs_today_assigned: int = 0
    jobs_today_unassigned: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "day": self.day.isoformat(),
            "counts": dict(self.counts),
            "seconds": round(self.seconds, 3),
            "jobs_today_assigned": self.jobs_today_assigned,
            "jobs_today_unassigned": self.jobs_today_unassigned,
        }


def on_land(lat: float, lon: float) -> bool:
    return any(area.contains(lat, lon) for area in LAND_AREAS)


def travel_minutes(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Urban drive time: straight-line distance at 30 km/h plus 5 minutes to park, in 5-minute steps.

    The demo's one travel model: the builder plans with it and the simulator drives with it."""
    km = _haversine_km(lat1, lon1, lat2, lon2)
    minutes = 5 + km / 30 * 60
    return int(math.ceil(minutes / 5) * 5)


def _haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return haversine_km(Location(lat1, lon1), Location(lat2, lon2))


def _local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), ZONE).astimezone(UTC)


PART_PREFIX_SKILL = {
    "FLT": "hvac", "BLT": "hvac", "MTR": "hvac", "THR": "hvac", "CTL": "hvac", "VLV": "hvac", "ACT": "hvac",
    "PMP": "plumbing", "HP": "heat_pump", "REF": "refrigeration", "PLB": "plumbing", "ELE": "electrical",
    "GAS": "gas", "ELV": "elevators",
}  # fmt: skip


def _part_skill(sku: str) -> str:
    return PART_PREFIX_SKILL.get(sku.split("-", 1)[0], "hvac")


def _ceil_minutes(at: datetime, step: int) -> datetime:
    extra = (at.minute % step) * 60 + at.second + at.microsecond / 1e6
    return at if extra == 0 else at + timedelta(seconds=step * 60 - extra)


def _window_around(day: date, start: datetime, end: datetime, rng: random.Random) -> tuple[datetime, datetime]:
    """A customer window on whole hours (2 or 4 hours wide when possible) that holds the planned visit."""
    local_start = start.astimezone(ZONE)
    local_end = end.astimezone(ZONE)
    first = local_start.hour - rng.randint(0, 1)
    last = local_end.hour + (1 if local_end.minute or local_end.second else 0)
    width = max(rng.choice((2, 4)), last - first)
    first = max(7, min(first, 24 - width))
    return _local(day, first), _local(day, first) + timedelta(hours=width)


@dataclass
class _Tech:
    id: int
    code: str
    branch: str
    lat: float
    lon: float
    skills: dict[str, int]
    weekdays: tuple[int, ...]
    start: time
    end: time


@dataclass
class _Site:
    id: int
    code: str
    customer_id: int
    branch: str
    lat: float
    lon: float
    assets: list[tuple[int, str, str]]  # (asset id, skill, serial)


@dataclass
class _Route:
    """A technician's day being filled front to back."""

    tech: _Tech
    free_at: datetime
    ends_at: datetime
    lat: float
    lon: float
    jobs: list[int] = field(default_factory=list)


class _Ids:
    """Explicit primary keys continuing after what is already in each table."""

    def __init__(self, session: Session) -> None:
        self._next: dict[str, int] = {}
        self._session = session

    def take(self, model: type[Base]) -> int:
        name = model.__tablename__
        if name not in self._next:
            current = self._session.scalar(select(func.max(model.id)))  # type: ignore[attr-defined]
            self._next[name] = int(current or 0) + 1
        value = self._next[name]
        self._next[name] = value + 1
        return value


def build_demo(
    db: Database,
    *,
    seed: int = 7,
    technicians: int = 25,
    customers: int = 300,
    jobs_today: int = 150,
    history_days: int = 90,
    today: date | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty database with a demo company; `now` (UTC-aware) makes today's statuses match the clock."""
    for name, value, low in (("technicians", technicians, 1), ("customers", customers, 1)):
        if value < low:
            raise InvalidInput(f"must be at least {low}", record="demo", field=name)
    for name, value in (("jobs_today", jobs_today), ("history_days", history_days)):
        if value < 0:
            raise InvalidInput("must not be negative", record="demo", field=name)
    if now is not None and now.tzinfo is None:
        raise InvalidInput("needs a time zone", record="demo", field="now")
    if today is None:
        today = (now or datetime.now(UTC)).astimezone(ZONE).date()
    started = wallclock.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)
    with UnitOfWork(db, DEMO_ACTOR) as uow:
        session = uow.session
        if session.scalar(select(func.count()).select_from(Branch)):
            raise InvalidInput(
                "the database already holds a company; build the demo into an empty database (--fresh)",
                record="demo",
                field="database",
            )
        builder = _Builder(session, random.Random(seed), today, now, report)
        builder.build(technicians, customers, jobs_today, history_days)
        counts = dict(builder.counts)
        layer, graph = demo_layer(), demo_graph()
        for code, *_ in BRANCHES:
            store_branch_map_in(uow, code, layer, graph if code in DEMO_GRAPH_BRANCHES else None, builder.created)
        uow.emit(
            "demo.built",
            "demo",
            seed,
            {"seed": seed, "day": today, "counts": counts, "now": now},
        )
        if db.dialect == "postgresql":
            advance_sequences(session)
    return DemoSummary(
        seed=seed,
        day=today,
        counts=counts,
        seconds=wallclock.perf_counter() - started,
        jobs_today_assigned=builder.assigned_today,
        jobs_today_unassigned=builder.unassigned_today,
    )


class _Builder:
    def __init__(self, session: Session, rng: random.Random, today: date, now: datetime | None, report: Progress):
        self.s = session
        self.rng = rng
        # Visit records (reports, parts, invoices) draw from their own stream, seeded from the main one,
        # so adding detail to them never reshuffles the company or today's plan.
        self.field_rng = random.Random(rng.getrandbits(64))
        self.today = today
        self.now = now
        self.report = report
        self.ids = _Ids(session)
        self.counts: dict[str, int] = {}
        self.created = _local(today - timedelta(days=400), 9)
        self.branch_ids: dict[str, int] = {}
        self.branch_depots: dict[str, tuple[float, float]] = {}
        self.skill_ids: dict[str, int] = {}
        self.techs: list[_Tech] = []
        self.sites: list[_Site] = []
        self.sites_by_branch: dict[str, list[_Site]] = {}
        self.contracts: dict[int, list[dict[str, Any]]] = {}  # customer id -> contract rows
        self.part_skus: list[str] = []
        self.job_id = 0
        self.job_rows: list[dict[str, Any]] = []
        self.job_skill_rows: list[dict[str, Any]] = []
        self.note_rows: list[dict[str, Any]] = []
        self.assigned_today = 0
        self.unassigned_today = 0
        # Today's unavailability: tech id -> (available from, available until) or None when away all day.
        self.today_window: dict[int, tuple[datetime, datetime] | None] = {}
        self._planned: dict[int, tuple[datetime, datetime]] = {}
        self._sites_of: dict[int, _Site] = {}
        self.van_of: dict[int, int] = {}
        self.warehouse_of: dict[int, int] = {}  # branch id -> warehouse location id
        self.return_rows: list[dict[str, Any]] = []
        self.part_rows: dict[int, dict[str, Any]] = {}
        self.trade_parts: dict[str, list[int]] = {}
        self.priced_labour: dict[tuple[int, int, str | None], PricedVisit] = {}
        self.price_list_rows: dict[int, dict[str, Any]] = {}
        self.default_price_list = 0
        self.asset_objs: dict[int, Asset] = {}
        self.contract_objs: dict[int, Contract] = {}
        self.job_stubs = {t: Job(type=t) for t in JobType}
        self.report_rows: list[dict[str, Any]] = []
        self.report_of_job: dict[int, dict[str, Any]] = {}
        self.part_used_rows: list[dict[str, Any]] = []
        self.expense_rows: list[dict[str, Any]] = []
        self.invoice_rows: list[dict[str, Any]] = []
        self.invoice_line_rows: list[dict[str, Any]] = []
        self.invoice_series_rows: list[dict[str, Any]] = []
        self.day_minutes: dict[tuple[int, date], list[int]] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def insert(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        if rows:
            for chunk_start in range(0, len(rows), 5000):
                # Core executemany: the ORM's bulk path would split rows by which columns are NULL.
                self.s.execute(model.__table__.insert(), rows[chunk_start : chunk_start + 5000])  # type: ignore[attr-defined]
        self.counts[model.__tablename__] = self.counts.get(model.__tablename__, 0) + len(rows)

    def point_in(self, area: LandArea) -> tuple[float, float]:
        lat = round(self.rng.uniform(area.lat_min, area.lat_max), 6)
        lon = round(self.rng.uniform(area.lon_min, area.lon_max), 6)
        return lat, lon

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    # -- the company ------------------------------------------------------------------------
    def build(self, technicians: int, customers: int, jobs_today: int, history_days: int) -> None:
        steps = 7
        self.report("branches and skills", 0, steps)
        self.branches_and_skills()
        self.report("parts and price lists", 1, steps)
        price_lists = self.parts_and_price_lists()
        self.report("technicians", 2, steps)
        self.technicians(technicians)
        self.users()
        self.report("customers and sites", 3, steps)
        self.customers(customers, price_lists)
        self.report("history", 4, steps)
        self.history(history_days)
        self.report("today's jobs", 5, steps)
        self.jobs_for_today(jobs_today)
        self.report("writing jobs", 6, steps)
        self.insert(Job, self.job_rows)
        self.insert(JobSkill, self.job_skill_rows)
        self.insert(JobNote, self.note_rows)
        self.insert(CompletionReport, self.report_rows)
        self.insert(PartUsed, self.part_used_rows)
        self.insert(PartReturn, self.return_rows)
        self.insert(Expense, self.expense_rows)
        self.insert(InvoiceDraft, self.number_invoices())
        self.insert(InvoiceSeries, self.invoice_series_rows)
        self.insert(InvoiceLine, self.invoice_line_rows)
        self.insert(Timesheet, self.timesheets())
        self.insert(MaintenancePlan, self.maintenance_plans())
        self.report("done", steps, steps)

    def number_invoices(self) -> list[dict[str, Any]]:
        """Each branch's invoice series in the order the visits were billed, and where each series stands."""
        codes = {bid: code for code, bid in self.branch_ids.items()}
        last: dict[tuple[int, int], int] = {}
        for row in sorted(self.invoice_rows, key=lambda r: (r["issued_on"], r["created_at"], r["id"])):
            key = (row["branch_id"], row["issued_on"].year)
            last[key] = last.get(key, 0) + 1
            row["ref"] = series_ref(codes[row["branch_id"]], SeriesKind.INVOICE, key[1], last[key])
        self.invoice_series_rows = [
            {"branch_id": bid, "kind": SeriesKind.INVOICE.value, "year": year, "last_number": n}
            for (bid, year), n in sorted(last.items())
        ]
        return self.invoice_rows

    def branches_and_skills(self) -> None:
        rows = []
        for code, name, lat, lon, polygon in BRANCHES:
            bid = self.ids.take(Branch)
            self.branch_ids[code] = bid
            self.branch_depots[code] = (lat, lon)
            rows.append(
                {
                    "id": bid,
                    "code": code,
                    "name": name,
                    "timezone": TZ,
                    "service_area": {"type": "Polygon", "coordinates": [polygon]},
                    "depot_lat": lat,
                    "depot_lon": lon,
                    "tax_rate": BRANCH_TAX_RATE,
                    "currency": "EUR",
                    "created_at": self.created,
                }
            )
        self.insert(Branch, rows)
        skill_rows = []
        for code, name in SKILLS:
            sid = self.ids.take(Skill)
            self.skill_ids[code] = sid
            skill_rows.append({"id": sid, "code": code, "name": name})
        self.insert(Skill, skill_rows)

    def parts_and_price_lists(self) -> list[int]:
        part_rows: list[dict[str, Any]] = []
        part_ids: list[int] = []
        for sku, name, cost, price, serial, supplier in PARTS:
            pid = self.ids.take(Part)
            part_ids.append(pid)
            self.part_skus.append(sku)
            part_rows.append(
                {
                    "id": pid,
                    "sku": sku,
                    "name": name,
                    "unit_cost": Decimal(cost),
                    "list_price": Decimal(price),
                    "serial_tracked": serial,
                    "supplier": supplier,
                }
            )
        self.insert(Part, part_rows)
        self.part_ids = part_ids
        self.part_rows = {row["id"]: row for row in part_rows}
        lists = [
            ("STD", "Standard", "82.00", "49.00", {}),
            ("CONTRACT", "Service contract", "72.00", "0", {"FLT-F7-592": "24.90", "FLT-M5-287": "13.50"}),
            ("PREMIUM", "Premium 24/7", "96.00", "89.00", {}),
        ]
        rows: list[dict[str, Any]] = []
        ids = []
        for code, name, rate, callout, prices in lists:
            pid = self.ids.take(PriceList)
            ids.append(pid)
            rows.append(
                {
                    "id": pid,
                    "code": code,
                    "name": name,
                    "currency": "EUR",
                    "labour_rate": Decimal(rate),
                    "callout_fee": Decimal(callout),
                    "labour_increment_minutes": 15,
                    "labour_minimum_minutes": 60 if code != "PREMIUM" else 30,
                    "part_prices": prices,
                }
            )
        self.insert(PriceList, rows)
        self.price_list_rows = {row["id"]: row for row in rows}
        self.default_price_list = ids[0]
        return ids

    def technicians(self, count: int) -> None:
        rng = self.rng
        weights = [p[0] for p in PROFILES]
        tech_rows: list[dict[str, Any]] = []
        skill_rows: list[dict[str, Any]] = []
        shift_rows: list[dict[str, Any]] = []
        exception_rows: list[dict[str, Any]] = []
        absence_rows: list[dict[str, Any]] = []
        location_rows: list[dict[str, Any]] = []
        level_rows: list[dict[str, Any]] = []
        for i in range(count):
            tid = self.ids.take(Technician)
            code = f"T{i + 1:03d}" if count < 1000 else f"T{i + 1:05d}"
            branch = "HEL-C" if rng.random() < 0.6 else "ESP"
            area = rng.choice([a for a in LAND_AREAS if a.branch == branch])
            lat, lon = self.point_in(area)
            _w, main, (lo, hi), extras = rng.choices(PROFILES, weights)[0]
            skills = {main: rng.randint(lo, hi)}
            for skill, elo, ehi in extras:
                if rng.random() < 0.5:
                    skills[skill] = rng.randint(elo, ehi)
            roll = rng.random()
            if roll < 0.45:
                weekdays, start, end = (0, 1, 2, 3, 4), time(7, 0), time(15, 30)
            elif roll < 0.9:
                weekdays, start, end = (0, 1, 2, 3, 4), time(8, 0), time(16, 30)
            else:
                weekdays, start, end = (1, 2, 3, 4, 5), time(8, 0), time(16, 30)
            name = self.person()
            tech_rows.append(
                {
                    "id": tid,
                    "code": code,
                    "name": name,
                    "email": f"{name.lower().replace(' ', '.')}.{code.lower()}@demo-huolto.fi",
                    "phone": f"+358 40 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    "branch_id": self.branch_ids[branch],
                    "home_lat": lat,
                    "home_lon": lon,
                    "hourly_cost": Decimal(rng.choice(("34.50", "36.00", "38.50", "41.00", "44.50"))),
                    "max_daily_minutes": 480,
                    "overtime_allowance_minutes": 60,
                    "active": True,
                    "status": TechnicianStatus.OFF,
                    "last_lat": None,
                    "last_lon": None,
                    "last_seen_at": None,
                    "created_at": self.created,
                }
            )
            for skill, level in skills.items():
                skill_rows.append({"technician_id": tid, "skill_id": self.skill_ids[skill], "level": level})
            for wd in weekdays:
                shift_rows.append(
                    {
                        "id": self.ids.take(ShiftPattern),
                        "technician_id": tid,
                        "weekday": wd,
                        "start": start,
                        "end": end,
                        "break_minutes": 30,
                    }
                )
            tech = _Tech(tid, code, branch, lat, lon, skills, weekdays, start, end)
            self.techs.append(tech)
            self.today_window[tid] = self._today_availability(tech, exception_rows, absence_rows, tech_rows[-1])
            van = self.ids.take(StockLocation)
            self.van_of[tid] = van
            location_rows.append(
                {
                    "id": van,
                    "code": f"VAN-{code}",
                    "kind": StockLocationKind.VAN,
                    "branch_id": self.branch_ids[branch],
                    "technician_id": tid,
                }
            )
            # A van carries parts for its technician's trades.
            trade_parts = [
                pid for pid, sku in zip(self.part_ids, self.part_skus, strict=True) if _part_skill(sku) in skills
            ]
            for pid in rng.sample(trade_parts, k=min(len(trade_parts), rng.randint(6, 12))):
                level_rows.append({"location_id": van, "part_id": pid, "quantity": rng.randint(1, 6)})
        for branch, bid in self.branch_ids.items():
            wh = self.ids.take(StockLocation)
            self.warehouse_of[bid] = wh
            location_rows.append(
                {
                    "id": wh,
                    "code": f"WH-{branch}",
                    "kind": StockLocationKind.WAREHOUSE,
                    "branch_id": bid,
                    "technician_id": None,
                }
            )
            for pid in self.part_ids:
                level_rows.append({"location_id": wh, "part_id": pid, "quantity": rng.randint(5, 60)})
        self.insert(Technician, tech_rows)
        self.insert(TechnicianSkill, skill_rows)
        self.insert(ShiftPattern, shift_rows)
        self.insert(ShiftException, exception_rows)
        self.insert(Absence, absence_rows)
        self.insert(StockLocation, location_rows)
        self.insert(StockLevel, level_rows)

    def _today_availability(
        self,
        tech: _Tech,
        exception_rows: list[dict[str, Any]],
        absence_rows: list[dict[str, Any]],
        tech_row: dict[str, Any],
    ) -> tuple[datetime, datetime] | None:
        """Roll today's exceptions and absences for one technician; return when they can work today."""
        rng = self.rng
        day = self.today
        start, end = tech.start, tech.end
        works = day.weekday() in tech.weekdays
        roll = rng.random()
        window: tuple[datetime, datetime] | None = None
        if roll < 0.04:
            # A swapped shift: later start today.
            exception_rows.append(
                {
                    "id": self.ids.take(ShiftException),
                    "technician_id": tech.id,
                    "day": day,
                    "start": time(10, 0),
                    "end": time(18, 30),
                    "reason": "Swapped to a late shift",
                }
            )
            window = (_local(day, 10), _local(day, 18, 30))
            works = True
        elif roll < 0.07 and works:
            exception_rows.append(
                {
                    "id": self.ids.take(ShiftException),
                    "technician_id": tech.id,
                    "day": day,
                    "start": None,
                    "end": None,
                    "reason": "Day off in lieu of weekend work",
                }
            )
            works = False
        elif roll < 0.11:
            tech_row["status"] = TechnicianStatus.ABSENT
            absence_rows.append(
                {
                    "id": self.ids.take(Absence),
                    "technician_id": tech.id,
                    "kind": AbsenceKind.SICK,
                    "starts_at": _local(day, 0),
                    "ends_at": _local(day + timedelta(days=1), 0),
                    "note": "Flu",
                    "source": "dispatch",
                    "external_id": None,
                    "created_at": _local(day, 6, 40),
                }
            )
            works = False
        elif roll < 0.14:
            tech_row["status"] = TechnicianStatus.ABSENT
            absence_rows.append(
                {
                    "id": self.ids.take(Absence),
                    "technician_id": tech.id,
                    "kind": AbsenceKind.LEAVE,
                    "starts_at": _local(day - timedelta(days=2), 0),
                    "ends_at": _local(day + timedelta(days=4), 0),
                    "note": "Annual leave",
                    "source": "dispatch",
                    "external_id": None,
                    "created_at": _local(day - timedelta(days=30), 10),
                }
            )
            works = False
        elif roll < 0.17 and works:
            # Training in the morning: available after lunch.
            absence_rows.append(
                {
                    "id": self.ids.take(Absence),
                    "technician_id": tech.id,
                    "kind": AbsenceKind.TRAINING,
                    "starts_at": _local(day, start.hour, start.minute),
                    "ends_at": _local(day, 12, 0),
                    "note": "Refrigerant handling refresher (F-gas)",
                    "source": "dispatch",
                    "external_id": None,
                    "created_at": _local(day - timedelta(days=14), 10),
                }
            )
            window = (_local(day, 12, 0), _local(day, end.hour, end.minute))
        elif roll < 0.22:
            # A future exception, so the week ahead is not uniform either.
            future = day + timedelta(days=rng.randint(1, 10))
            exception_rows.append(
                {
                    "id": self.ids.take(ShiftException),
                    "technician_id": tech.id,
                    "day": future,
                    "start": time(9, 0),
                    "end": time(13, 0),
                    "reason": "Short day: dentist",
                }
            )
        if not works:
            return None
        return window or (_local(day, start.hour, start.minute), _local(day, end.hour, end.minute))

    def users(self) -> None:
        rows = [
            ("admin", "Administrator", Role.ADMIN, os_login()),
            ("dana", "Dana Dispatcher", Role.DISPATCHER, None),
            ("dario", "Dario Dispatcher", Role.DISPATCHER, None),
            ("sam", "Sam Supervisor", Role.SUPERVISOR, None),
        ]
        self.insert(
            User,
            [
                {
                    "id": self.ids.take(User),
                    "login": login,
                    "name": name,
                    "role": role,
                    "os_login": os_login,
                    "email": f"{login}@demo-huolto.fi",
                    "branch_id": None,
                    "technician_id": None,
                    "active": True,
                    "created_at": self.created,
                }
                for login, name, role, os_login in rows
            ],
        )

    def customers(self, count: int, price_lists: list[int]) -> None:
        rng = self.rng
        customer_rows: list[dict[str, Any]] = []
        contact_rows: list[dict[str, Any]] = []
        site_rows: list[dict[str, Any]] = []
        asset_rows: list[dict[str, Any]] = []
        contract_rows: list[dict[str, Any]] = []
        skills = list(ASSET_KINDS)
        serial_no = 0
        for i in range(count):
            cid = self.ids.take(Customer)
            code = f"C{i + 1:05d}"
            kind = rng.random()
            area = rng.choice(LAND_AREAS)
            street = rng.choice(area.streets)
            if kind < 0.35:
                name = f"As Oy {street} {rng.randint(1, 60)}"
            elif kind < 0.8:
                name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)} Oy"
            else:
                name = self.person()
            slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "customer"
            customer_rows.append(
                {
                    "id": cid,
                    "code": code,
                    "name": name,
                    "email": f"info@{slug}.example",
                    "phone": f"+358 9 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    "payment_terms_days": rng.choice((14, 14, 30, 30, 30, 45)),
                    "notes": "Key account" if rng.random() < 0.05 else None,
                    "preferences": rng.choice(PREFERENCES) if rng.random() < 0.25 else {},
                    "created_at": self.created,
                    "updated_at": self.created,
                }
            )
            for n in range(rng.choice((1, 1, 2))):
                person = self.person()
                contact_rows.append(
                    {
                        "id": self.ids.take(Contact),
                        "customer_id": cid,
                        "name": person,
                        "email": f"{person.lower().replace(' ', '.')}@{slug}.example",
                        "phone": f"+358 50 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                        "role": rng.choice(("Property manager", "Owner", "Caretaker", "Facilities")),
                        "primary": n == 0,
                    }
                )
            n_sites = rng.choices((1, 2, 3), (6, 3, 1))[0]
            for n in range(n_sites):
                sid = self.ids.take(Site)
                site_area = area if n == 0 else rng.choice(LAND_AREAS)
                lat, lon = self.point_in(site_area)
                site_street = street if n == 0 else rng.choice(site_area.streets)
                site_code = f"S{sid:05d}"
                site_rows.append(
                    {
                        "id": sid,
                        "code": site_code,
                        "customer_id": cid,
                        "branch_id": self.branch_ids[site_area.branch],
                        "name": name if n_sites == 1 else f"{name}, {site_area.name}",
                        "address": f"{site_street} {rng.randint(1, 80)}",
                        "postcode": site_area.postcode,
                        "city": site_area.city,
                        "lat": lat,
                        "lon": lon,
                        "access_notes": rng.choice(ACCESS_NOTES),
                    }
                )
                site = _Site(sid, site_code, cid, site_area.branch, lat, lon, [])
                for _ in range(rng.choices((0, 1, 2, 3), (2, 5, 3, 1))[0]):
                    skill = rng.choice(skills)
                    kind_name, models, prefix = ASSET_KINDS[skill]
                    serial_no += 1
                    serial = f"{prefix}-{serial_no:06d}"
                    installed = self.today - timedelta(days=rng.randint(60, 15 * 365))
                    warranty_years = rng.choice((2, 2, 5))
                    aid = self.ids.take(Asset)
                    asset_rows.append(
                        {
                            "id": aid,
                            "site_id": sid,
                            "kind": kind_name,
                            "model": rng.choice(models),
                            "serial": serial,
                            "install_date": installed,
                            "warranty_end": installed.replace(year=installed.year + warranty_years)
                            if not (installed.month == 2 and installed.day == 29)
                            else installed + timedelta(days=365 * warranty_years),
                        }
                    )
                    site.assets.append((aid, skill, serial))
                    self.asset_objs[aid] = Asset(**asset_rows[-1])
                self.sites.append(site)
                self.sites_by_branch.setdefault(site.branch, []).append(site)
            if rng.random() < 0.4:
                sla = rng.choices(SLA_HOURS, (1, 3, 4, 2))[0]
                valid_from = self.today - timedelta(days=rng.randint(20, 700))
                valid_to = valid_from + timedelta(days=365 * rng.choice((1, 2, 3)) - 1)
                covered = sorted(rng.sample(["repair", "maintenance", "inspection"], k=rng.randint(1, 3)))
                round_clock = sla == 4
                contract: dict[str, Any] = {
                    "id": self.ids.take(Contract),
                    "code": f"K{len(contract_rows) + 1:05d}",
                    "customer_id": cid,
                    "name": {4: "Platinum 24/7", 8: "Gold", 24: "Silver", 48: "Basic"}[sla],
                    "sla_response_hours": sla,
                    "covered_job_types": covered,
                    "covered_part_skus": sorted(rng.sample(self.part_skus, k=rng.randint(0, 6))),
                    "coverage_weekdays": [0, 1, 2, 3, 4, 5, 6] if round_clock else [0, 1, 2, 3, 4],
                    "coverage_start": time(0, 0) if round_clock else time(8, 0),
                    "coverage_end": time(23, 59) if round_clock else time(17, 0),
                    "price_list_id": price_lists[2] if round_clock else price_lists[1],
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                }
                contract_rows.append(contract)
                self.contract_objs[contract["id"]] = Contract(**contract)
                self.contracts.setdefault(cid, []).append(contract)
        self.insert(Customer, customer_rows)
        self.insert(Contact, contact_rows)
        self.insert(Site, site_rows)
        self.insert(Asset, asset_rows)
        self.insert(Contract, contract_rows)

    # -- jobs -------------------------------------------------------------------------------
    def contract_covering(self, customer_id: int, job_type: JobType, on: date) -> dict[str, Any] | None:
        for contract in self.contracts.get(customer_id, ()):
            if contract["valid_from"] <= on <= contract["valid_to"] and job_type.value in contract["covered_job_types"]:
                return contract
        return None

    def next_ref(self) -> tuple[int, str]:
        self.job_id = self.ids.take(Job)
        return self.job_id, f"J{self.job_id:06d}"

    def pick_kind(self, skills: dict[str, int]) -> tuple[str, JobType, str, int, int]:
        """A job this set of skills can do: (skill, type, summary, duration, min level)."""
        skill = self.rng.choice(sorted(skills))
        options = [k for k in JOB_KINDS[skill] if k[3] <= skills[skill]] or [JOB_KINDS[skill][0]]
        weights = [TYPE_WEIGHTS[k[0]] for k in options]
        job_type, summary, durations, min_level = self.rng.choices(options, weights)[0]
        duration = durations[0] if self.rng.random() < 0.6 else self.rng.choice(durations)
        return skill, job_type, summary, duration, min(min_level, skills[skill])

    def job_row(
        self,
        *,
        job_id: int,
        ref: str,
        site: _Site,
        skill: str,
        job_type: JobType,
        summary: str,
        duration: int,
        priority: int,
        created_at: datetime,
        status: JobStatus,
        contract: dict[str, Any] | None,
        sla_due: datetime | None,
        window: tuple[datetime, datetime] | None = None,
        tech_id: int | None = None,
        planned: tuple[datetime, datetime] | None = None,
        actual: tuple[datetime | None, datetime | None] = (None, None),
        pinned: bool = False,
        communicated: bool = False,
        follow_up_of: int | None = None,
        updated_at: datetime | None = None,
    ) -> dict[str, Any]:
        asset = next((a for a in site.assets if a[1] == skill), None)
        if asset is not None and self.rng.random() < 0.3:
            asset = None
        return {
            "id": job_id,
            "ref": ref,
            "type": job_type,
            "status": status,
            "priority": priority,
            "summary": summary,
            "description": None,
            "customer_id": site.customer_id,
            "site_id": site.id,
            "asset_id": asset[0] if asset else None,
            "contract_id": contract["id"] if contract else None,
            "branch_id": self.branch_ids[site.branch],
            "duration_minutes": duration,
            "window_start": window[0] if window else None,
            "window_end": window[1] if window else None,
            "sla_due": sla_due,
            "technician_id": tech_id,
            "planned_start": planned[0] if planned else None,
            "planned_end": planned[1] if planned else None,
            "pinned": pinned,
            "communicated": communicated,
            "actual_start": actual[0],
            "actual_end": actual[1],
            "arrived_at": actual[0],
            "follow_up_of_id": follow_up_of,
            "created_at": created_at,
            "updated_at": updated_at or created_at,
            "updated_by": "system",
            "version": 1,
        }

    def history(self, days: int) -> None:
        rng = self.rng
        # Visits that need another one: (job id, site, skill, type, duration), served first come first.
        open_incomplete: list[tuple[int, _Site, str, JobType, int]] = []
        for back in range(days, 0, -1):
            day = self.today - timedelta(days=back)
            for tech in self.techs:
                if day.weekday() not in tech.weekdays or rng.random() < 0.06:
                    continue
                sites = self.sites_by_branch.get(tech.branch) or self.sites
                at = _local(day, tech.start.hour, tech.start.minute)
                shift_end = _local(day, tech.end.hour, tech.end.minute)
                lat, lon = tech.lat, tech.lon
                for _ in range(rng.randint(3, 5)):
                    follow_up = None
                    if open_incomplete and rng.random() < 0.3:
                        match = next((k for k, f in enumerate(open_incomplete) if f[2] in tech.skills), None)
                        if match is not None:
                            follow_up = open_incomplete.pop(match)
                    if follow_up is None:
                        site = rng.choice(sites)
                        skill, job_type, summary, duration, level = self.pick_kind(tech.skills)
                    else:
                        _prev_id, site, skill, job_type, duration = follow_up
                        summary = f"Follow-up of J{_prev_id:06d}: finish the repair"
                        level = 1
                    travel = travel_minutes(lat, lon, site.lat, site.lon)
                    start = at + timedelta(minutes=travel)
                    end = start + timedelta(minutes=duration)
                    if end > shift_end:
                        if follow_up is not None:
                            open_incomplete.insert(0, follow_up)
                        break
                    job_id, ref = self.next_ref()
                    roll = rng.random()
                    status = (
                        JobStatus.COMPLETED
                        if roll < 0.92
                        else JobStatus.INCOMPLETE
                        if roll < 0.97
                        else JobStatus.CANCELLED
                    )
                    actual_start = start + timedelta(minutes=rng.randint(-10, 25))
                    actual_end = actual_start + timedelta(minutes=int(duration * rng.uniform(0.75, 1.4)))
                    created = start - timedelta(days=rng.randint(0, 12), hours=rng.randint(0, 8), minutes=30)
                    contract = self.contract_covering(site.customer_id, job_type, day)
                    sla_due = None
                    if contract:
                        sla_due, created = self.sla_for(contract["sla_response_hours"], actual_start)
                    if status is JobStatus.CANCELLED:
                        actual: tuple[datetime | None, datetime | None] = (None, None)
                        tech_id: int | None = None
                        planned = None
                    else:
                        actual, tech_id, planned = (actual_start, actual_end), tech.id, (start, end)
                    row = self.job_row(
                        job_id=job_id,
                        ref=ref,
                        site=site,
                        skill=skill,
                        job_type=job_type,
                        summary=summary,
                        duration=duration,
                        priority=rng.choices((1, 2, 3, 4), (1, 3, 8, 3))[0],
                        created_at=created,
                        status=status,
                        contract=contract,
                        sla_due=sla_due,
                        tech_id=tech_id,
                        planned=planned,
                        actual=actual,
                        communicated=True,
                        follow_up_of=follow_up[0] if follow_up else None,
                        updated_at=actual_end if status is not JobStatus.CANCELLED else created,
                    )
                    self.job_rows.append(row)
                    self.job_skill_rows.append(
                        {"job_id": job_id, "skill_id": self.skill_ids[skill], "min_level": level}
                    )
                    if follow_up is not None and follow_up[0] in self.report_of_job:
                        self.report_of_job[follow_up[0]]["follow_up_job_id"] = job_id
                    note: str | None = None
                    if status is JobStatus.INCOMPLETE:
                        note = rng.choice(TECH_NOTES_INCOMPLETE)
                        self.note(job_id, tech.code, note, actual_end)
                    elif status is JobStatus.COMPLETED and rng.random() < 0.5:
                        note = rng.choice(TECH_NOTES_DONE)
                        self.note(job_id, tech.code, note, actual_end)
                    if status is not JobStatus.CANCELLED:
                        fixed = self.visit_record(row, tech, skill, day, travel, note)
                        if not fixed:
                            open_incomplete.append((job_id, site, skill, job_type, duration))
                        at, lat, lon = actual_end, site.lat, site.lon
            if back % 10 == 0:
                self.report("history", days - back, days)

    def sla_for(self, sla_hours: int, arrived: datetime) -> tuple[datetime, datetime]:
        """(sla_due, created_at) of a contract visit reached at `arrived`: most in time, some late."""
        frng = self.field_rng
        if frng.random() < SLA_LATE_SHARE:
            due = arrived - timedelta(minutes=frng.randint(5, 150))
        else:
            due = arrived + timedelta(minutes=frng.randint(5, (sla_hours - 1) * 60))
        due = _ceil_minutes(due, 5) if due > arrived else due.replace(second=0, microsecond=0)
        return due, due - timedelta(hours=sla_hours)

    def visit_record(
        self, job: dict[str, Any], tech: _Tech, skill: str, day: date, travel: int, note: str | None
    ) -> bool:
        """The completion report, parts, expenses and invoice of one finished history visit; True when fixed."""
        frng = self.field_rng
        job_type: JobType = job["type"]
        start: datetime = job["actual_start"]
        end: datetime = job["actual_end"]
        completed = job["status"] is JobStatus.COMPLETED
        fixed = completed and frng.random() >= NOT_FIXED_SHARE
        if not completed:
            code = RESOLUTIONS_INCOMPLETE[TECH_NOTES_INCOMPLETE.index(note)] if note else RESOLUTIONS_INCOMPLETE[0]
        elif not fixed:
            code, note = RESOLUTION_TEMPORARY, frng.choice(TECH_NOTES_TEMPORARY)
        else:
            code = frng.choice(RESOLUTIONS_FIXED[job_type])
        labour = int((end - start).total_seconds() // 60)
        travel = max(5, min(40, travel))
        signer = None if code == "NO_ACCESS" else f"{frng.choice(FIRST_NAMES)} {frng.choice(LAST_NAMES)}"
        report_id = self.ids.take(CompletionReport)
        report = {
            "id": report_id,
            "job_id": job["id"],
            "technician_id": tech.id,
            "outcome": ReportOutcome.COMPLETED if completed else ReportOutcome.INCOMPLETE,
            "actual_start": start,
            "actual_end": end,
            "labour_minutes": labour,
            "travel_minutes": travel,
            "resolution_code": code,
            "first_time_fix": fixed,
            "follow_up_job_id": None,
            "notes": note,
            "signer_name": signer,
            "signed_at": end if signer else None,
            "summary_sha256": signature_hash(f"{job['ref']} {job['summary']}: {code}") if signer else None,
            "client_event_id": None,
            "created_at": end,
        }
        self.report_rows.append(report)
        self.report_of_job[job["id"]] = report
        minutes = self.day_minutes.setdefault((tech.id, day), [0, 0])
        minutes[0] += labour
        minutes[1] += travel

        asset = self.asset_objs.get(job["asset_id"]) if job["asset_id"] else None
        contract = self.contract_objs.get(job["contract_id"]) if job["contract_id"] else None
        on = end.astimezone(ZONE).date()
        list_id = contract.price_list_id if contract is not None else None
        price_list = self.price_list_rows[list_id or self.default_price_list]
        parts: list[PartCharge] = []
        wants_parts = {JobType.REPAIR: 0.4, JobType.MAINTENANCE: 0.2, JobType.INSTALL: 0.5}.get(job_type, 0.0)
        if code != "NO_ACCESS" and frng.random() < wants_parts:
            trade = self.trade_parts.get(skill)
            if trade is None:
                trade = [pid for pid in self.part_ids if _part_skill(self.part_rows[pid]["sku"]) == skill]
                self.trade_parts[skill] = trade
            for pid in frng.sample(trade, k=min(len(trade), frng.choice((1, 1, 1, 2)))):
                part = self.part_rows[pid]
                quantity = 1 if part["serial_tracked"] else frng.choice((1, 1, 2, 4))
                warranty = asset is not None and asset.under_warranty(on)
                self.part_used_rows.append(
                    {
                        "id": self.ids.take(PartUsed),
                        "report_id": report_id,
                        "part_id": pid,
                        "quantity": quantity,
                        "serials": [f"{part['sku']}-{job['id']:06d}-{n}" for n in range(quantity)]
                        if part["serial_tracked"]
                        else [],
                        "from_location_id": self.van_of[tech.id],
                        "under_warranty": warranty,
                    }
                )
                if warranty:
                    self.warranty_returns(job, part, self.part_used_rows[-1], end)
                listed = price_list["part_prices"].get(part["sku"])
                unit = Decimal(str(listed)) if listed is not None else part["list_price"]
                cover = part_cover(asset, contract, part["sku"], on)
                parts.append(PartCharge(part["sku"], part["name"], quantity, unit, cover))
        expenses: list[ExpenseCharge] = []
        if frng.random() < 0.07:
            kind, description, low, high = frng.choice(EXPENSES)
            cents_low, cents_high = int(Decimal(low) * 100), int(Decimal(high) * 100)
            amount = Decimal(frng.randint(cents_low, cents_high)) / 100
            expenses.append(ExpenseCharge(kind, description, amount))
            self.expense_rows.append(
                {
                    "id": self.ids.take(Expense),
                    "report_id": report_id,
                    "kind": kind,
                    "description": description,
                    "amount": amount,
                    "receipt_ref": f"RCPT-{job['ref']}-1",
                }
            )
        labour_cover = Cover()
        if contract is not None and contract_covers_visit(contract, self.job_stubs[job_type], start, TZ):
            labour_cover = Cover(f"contract {contract.code} covers {job_type.value} within coverage hours")
        visit = Visit(
            labour_minutes=labour,
            labour_rate=price_list["labour_rate"],
            increment_minutes=price_list["labour_increment_minutes"],
            minimum_minutes=price_list["labour_minimum_minutes"],
            callout_fee=price_list["callout_fee"],
            tax_rate=BRANCH_TAX_RATE,
            parts=parts,
            expenses=expenses,
            labour_cover=labour_cover,
        )
        # Most visits are labour only and repeat: price each distinct one once (the result is never mutated).
        key = None if parts or expenses else (labour, price_list["id"], labour_cover.reason)
        priced = self.priced_labour.get(key) if key is not None else None
        if priced is None:
            priced = price_visit(visit)
            if key is not None:
                self.priced_labour[key] = priced
        invoice_id = self.ids.take(InvoiceDraft)
        age = (self.today - on).days
        self.invoice_rows.append(
            {
                "id": invoice_id,
                "ref": "",  # numbered in its branch's series once the whole history is known
                "job_id": job["id"],
                "customer_id": job["customer_id"],
                "branch_id": job["branch_id"],
                "technician_id": tech.id,
                "currency": price_list["currency"],
                "subtotal": priced.subtotal,
                "tax": priced.tax,
                "total": priced.total,
                "status": InvoiceStatus.PAID if age > 30 else InvoiceStatus.SENT if age > 2 else InvoiceStatus.DRAFT,
                "issued_on": on,
                "created_at": end,
            }
        )
        for position, line in enumerate(priced.lines, start=1):
            self.invoice_line_rows.append(
                {
                    "id": self.ids.take(InvoiceLine),
                    "invoice_id": invoice_id,
                    "position": position,
                    "kind": line.kind,
                    "description": line.description[:300],
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                    "amount": line.amount,
                    "covered": line.covered,
                    "covered_reason": line.covered_reason,
                    "tax_rate": line.tax_rate,
                    "tax_amount": line.tax_amount,
                }
            )
        return fixed

    def warranty_returns(self, job: dict[str, Any], part: dict[str, Any], used: dict[str, Any], at: datetime) -> None:
        """A part replaced under warranty goes back to the supplier, as the completion service records it."""
        serials: list[str | None] = list(used["serials"]) or [None] * used["quantity"]
        age = (self.today - at.astimezone(ZONE).date()).days
        status = ReturnStatus.CLOSED if age > 30 else ReturnStatus.RECEIVED if age > 3 else ReturnStatus.PENDING
        for n, serial in enumerate(serials, start=1):
            self.return_rows.append(
                {
                    "id": self.ids.take(PartReturn),
                    "part_id": part["id"],
                    "serial": serial,
                    "job_id": job["id"],
                    "from_location_id": used["from_location_id"],
                    "to_location_id": self.warehouse_of.get(job["branch_id"]),
                    "disposition": ReturnDisposition.SUPPLIER if part["supplier"] else ReturnDisposition.REPAIR,
                    "supplier": part["supplier"],
                    "warranty_claim_ref": f"WC-{job['ref']}-{part['sku']}-{n}",
                    "status": status,
                    "created_at": at,
                }
            )

    def timesheets(self) -> list[dict[str, Any]]:
        """Closed timesheets for every worked history day, split by the default overtime rules."""
        rules = Rules()
        rows: list[dict[str, Any]] = []
        week_regular: dict[tuple[int, date], int] = {}
        for (tech_id, day), (worked, travel) in sorted(self.day_minutes.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            monday = day - timedelta(days=day.weekday())
            before = week_regular.get((tech_id, monday), 0)
            split = split_overtime(worked + travel, True, before, rules)
            week_regular[(tech_id, monday)] = before + split.regular
            closed = _local(day + timedelta(days=1), 6)
            rows.append(
                {
                    "id": self.ids.take(Timesheet),
                    "technician_id": tech_id,
                    "day": day,
                    "worked_minutes": worked,
                    "travel_minutes": travel,
                    "break_minutes": 30 if worked + travel > 0 else 0,
                    "overtime_minutes": split.overtime,
                    "overtime_breakdown": split.breakdown(rules),
                    "status": TimesheetStatus.CLOSED,
                    "closed_by": "system",
                    "closed_at": closed,
                    "updated_at": closed,
                }
            )
        return rows

    def maintenance_plans(self) -> list[dict[str, Any]]:
        """Preventive plans on contract customers' assets (and a few without a contract), due over the next months."""
        frng = self.field_rng
        rows: list[dict[str, Any]] = []
        for site in self.sites:
            contract = next(
                (
                    c
                    for c in self.contracts.get(site.customer_id, ())
                    if "maintenance" in c["covered_job_types"] and c["valid_to"] > self.today
                ),
                None,
            )
            for aid, skill, serial in site.assets:
                if frng.random() >= (0.7 if contract else 0.08):
                    continue
                interval, season = PLAN_RHYTHM[skill]
                kind = next((k for k in JOB_KINDS[skill] if k[0] is JobType.MAINTENANCE), None)
                summary = kind[1] if kind else f"Periodic check of the {ASSET_KINDS[skill][0]}"
                duration = kind[2][0] if kind else 60
                next_due = self.today + timedelta(days=frng.randint(0, 120))
                if contract is not None and next_due > contract["valid_to"]:
                    next_due = self.today + timedelta(days=frng.randint(0, (contract["valid_to"] - self.today).days))
                rows.append(
                    {
                        "id": self.ids.take(MaintenancePlan),
                        "code": f"MP{len(rows) + 1:05d}",
                        "site_id": site.id,
                        "asset_id": aid,
                        "contract_id": contract["id"] if contract else None,
                        "job_type": JobType.MAINTENANCE.value,
                        "summary": f"{summary}: {serial}",
                        "interval_months": interval,
                        "season_months": list(season),
                        "duration_minutes": duration,
                        "skills": {skill: 1},
                        "next_due": next_due,
                        "last_generated": None,
                        "active": True,
                        "created_at": self.created,
                    }
                )
        return rows

    def note(
        self, job_id: int, author: str, body: str, at: datetime, kind: NoteAuthorKind = NoteAuthorKind.TECHNICIAN
    ) -> None:
        self.note_rows.append(
            {
                "id": self.ids.take(JobNote),
                "job_id": job_id,
                "author": author,
                "author_kind": kind,
                "body": body,
                "created_at": at,
            }
        )

    def jobs_for_today(self, count: int) -> None:
        """Fill each working technician's day front to back, then leave the rest of the jobs unassigned."""
        rng = self.rng
        day = self.today
        routes: dict[str, list[_Route]] = {}
        for tech in self.techs:
            window = self.today_window.get(tech.id)
            if window is not None:
                routes.setdefault(tech.branch, []).append(_Route(tech, window[0], window[1], tech.lat, tech.lon))
        to_assign = count - round(count * 0.13)
        drafts: list[dict[str, Any]] = []
        placed: dict[int, tuple[_Route, datetime, datetime]] = {}
        open_routes = [r for branch in sorted(routes) for r in routes[branch]]
        # Sequential insertion: round-robin over technicians, each taking a nearby job that fits the shift.
        while open_routes and len(placed) < to_assign:
            still_open = []
            for route in open_routes:
                if len(placed) >= to_assign:
                    break
                d = self.draft(len(drafts), route.tech.skills, self.nearby_site(route))
                site = d["site"]
                start = route.free_at + timedelta(minutes=travel_minutes(route.lat, route.lon, site.lat, site.lon))
                start = _ceil_minutes(start, 5)
                end = start + timedelta(minutes=d["duration"])
                if end > route.ends_at:
                    continue
                if rng.random() < 0.5:
                    d["window"] = _window_around(day, start, end, rng)
                if d["sla_due"] is not None:
                    d["sla_due"] = _ceil_minutes(end + timedelta(minutes=rng.randint(0, 180)), 15)
                    d["created"] = d["sla_due"] - timedelta(hours=d["contract"]["sla_response_hours"])
                drafts.append(d)
                placed[d["i"]] = (route, start, end)
                self._planned[d["i"]] = (start, end)
                self._sites_of[d["i"]] = site
                route.free_at, route.lat, route.lon = end, site.lat, site.lon
                route.jobs.append(d["i"])
                still_open.append(route)
            open_routes = still_open
        all_skills = {code: 2 for code, _name in SKILLS}
        while len(drafts) < count:
            d = self.draft(len(drafts), {rng.choice(sorted(all_skills)): 2}, rng.choice(self.sites))
            if rng.random() < 0.5:
                start_h = rng.choice((8, 8, 10, 12, 12, 14))
                d["window"] = (_local(day, start_h), _local(day, start_h + rng.choice((2, 4))))
            drafts.append(d)
        # Refs should not reveal who got what: number the jobs in a shuffled order.
        rng.shuffle(drafts)
        clock = self.clock_statuses(routes) if self.now is not None else {}
        for d in drafts:
            job_id, ref = self.next_ref()
            where = placed.get(d["i"])
            status = JobStatus.NEW
            actual: tuple[datetime | None, datetime | None] = (None, None)
            tech_id, planned, pinned, communicated = None, None, False, False
            if where is not None:
                route, start, end = where
                tech_id, planned = route.tech.id, (start, end)
                communicated = rng.random() < 0.5
                status = JobStatus.DISPATCHED if communicated else JobStatus.SCHEDULED
                pinned = rng.random() < 0.1
                if d["i"] in clock:
                    status, actual = clock[d["i"]]
                    communicated = True
                self.assigned_today += 1
            else:
                self.unassigned_today += 1
            self.job_rows.append(
                self.job_row(
                    job_id=job_id,
                    ref=ref,
                    site=d["site"],
                    skill=d["skill"],
                    job_type=d["type"],
                    summary=d["summary"],
                    duration=d["duration"],
                    priority=d["priority"],
                    created_at=d["created"],
                    status=status,
                    contract=d["contract"],
                    sla_due=d["sla_due"],
                    window=d["window"],
                    tech_id=tech_id,
                    planned=planned,
                    actual=actual,
                    pinned=pinned,
                    communicated=communicated,
                )
            )
            self.job_skill_rows.append(
                {"job_id": job_id, "skill_id": self.skill_ids[d["skill"]], "min_level": d["level"]}
            )
            if d["site"].assets and rng.random() < 0.15:
                self.note(
                    job_id,
                    "dana",
                    "Customer asked for a call 30 min before arrival.",
                    d["created"],
                    NoteAuthorKind.DISPATCHER,
                )

    def nearby_site(self, route: _Route) -> _Site:
        """The closest of a few random sites of the technician's branch: days cluster, as real ones do."""
        sites = self.sites_by_branch.get(route.tech.branch) or self.sites
        sample = [self.rng.choice(sites) for _ in range(6)]
        return min(sample, key=lambda s: _haversine_km(route.lat, route.lon, s.lat, s.lon))

    def draft(self, i: int, skills: dict[str, int], site: _Site) -> dict[str, Any]:
        rng = self.rng
        day = self.today
        skill, job_type, summary, duration, level = self.pick_kind(skills)
        priority = rng.choices((1, 2, 3, 4), (1, 3, 7, 3))[0]
        if job_type is JobType.REPAIR and rng.random() < 0.1:
            priority = 1
        contract = self.contract_covering(site.customer_id, job_type, day)
        if contract is not None:
            due = _local(day, rng.randint(10, 17), rng.choice((0, 15, 30, 45)))
            if contract["sla_response_hours"] == 48 and rng.random() < 0.5:
                due += timedelta(days=1)
            sla_due: datetime | None = due
            created = due - timedelta(hours=contract["sla_response_hours"])
        else:
            sla_due = None
            created = _local(day - timedelta(days=rng.randint(1, 20)), rng.randint(8, 16), rng.randint(0, 59))
        return {
            "i": i,
            "site": site,
            "skill": skill,
            "type": job_type,
            "summary": summary,
            "duration": duration,
            "level": level,
            "priority": priority,
            "contract": contract,
            "sla_due": sla_due,
            "created": created,
            "window": None,
        }

    def clock_statuses(
        self, routes: dict[str, list[_Route]]
    ) -> dict[int, tuple[JobStatus, tuple[datetime | None, datetime | None]]]:
        """With a clock, the day so far has happened: earlier jobs done, one on site or en route per technician."""
        assert self.now is not None
        now = self.now
        result: dict[int, tuple[JobStatus, tuple[datetime | None, datetime | None]]] = {}
        for branch_routes in routes.values():
            for route in branch_routes:
                tech = route.tech
                status, lat, lon = TechnicianStatus.AVAILABLE, tech.lat, tech.lon
                busy = False
                for i in route.jobs:
                    start, end = self._planned[i]
                    site = self._sites_of[i]
                    if end <= now:
                        result[i] = (JobStatus.COMPLETED, (start, end))
                        lat, lon = site.lat, site.lon
                    elif not busy and start <= now:
                        result[i] = (JobStatus.ON_SITE, (start, None))
                        status, lat, lon, busy = TechnicianStatus.ON_SITE, site.lat, site.lon, True
                    elif not busy and start - timedelta(minutes=30) <= now:
                        result[i] = (JobStatus.EN_ROUTE, (None, None))
                        status, busy = TechnicianStatus.EN_ROUTE, True
                    else:
                        busy = True
                window = self.today_window.get(tech.id)
                if window is not None and window[0] <= now <= window[1]:
                    self.s.execute(
                        update(Technician)
                        .where(Technician.id == tech.id)
                        .values(status=status, last_lat=lat, last_lon=lon, last_seen_at=now)
                    )
        return result


def table_fingerprint(db: Database, tables: Iterable[str] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the given tables (all but events by default), ordered: two equal company builds compare equal."""
    wanted = set(tables) if tables is not None else None
    result: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "events" or (wanted is not None and table.name not in wanted):
                continue
            order = list(table.primary_key.columns)
            result[table.name] = [tuple(r) for r in session.execute(select(table).order_by(*order))]
    return result
