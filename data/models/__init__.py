"""Every table of Dispatch; importing this package registers them all on `Base.metadata`."""

from data.models.base import Base, utcnow
from data.models.customers import Asset, Contact, Contract, Customer, ExternalRef, PriceList, Site
from data.models.events import Event
from data.models.jobs import (
    OPEN_STATUSES,
    TRANSITIONS,
    Job,
    JobCrewMember,
    JobNote,
    JobSkill,
    JobStatus,
    JobType,
    NoteAuthorKind,
)
from data.models.org import Branch, CompanyRole, Role, User
from data.models.stock import Part, StockLevel, StockLocation, StockLocationKind
from data.models.workforce import (
    Absence,
    AbsenceKind,
    PlannedBreak,
    ShiftException,
    ShiftPattern,
    Skill,
    Technician,
    TechnicianSkill,
    TechnicianStatus,
)

__all__ = [
    "OPEN_STATUSES",
    "TRANSITIONS",
    "Absence",
    "AbsenceKind",
    "Asset",
    "Base",
    "Branch",
    "CompanyRole",
    "Contact",
    "Contract",
    "Customer",
    "Event",
    "ExternalRef",
    "Job",
    "JobCrewMember",
    "JobNote",
    "JobSkill",
    "JobStatus",
    "JobType",
    "NoteAuthorKind",
    "Part",
    "PlannedBreak",
    "PriceList",
    "Role",
    "ShiftException",
    "ShiftPattern",
    "Site",
    "Skill",
    "StockLevel",
    "StockLocation",
    "StockLocationKind",
    "Technician",
    "TechnicianSkill",
    "TechnicianStatus",
    "User",
    "utcnow",
]
from data.models.api_tokens import ApiToken  # noqa: F401
from data.models.deliveries import *  # noqa: F403
from data.models.field import *  # noqa: F403
from data.models.maps import BranchMap  # noqa: F401
from data.models.messages import Message, MessageAudience, MessageRead  # noqa: F401
from data.models.offers import CrmOffer, OfferResponse  # noqa: F401
from data.models.payments import *  # noqa: F403
from data.models.reminders import ReminderCursor, ReminderSent  # noqa: F401
from data.models.sealed import SealedSecret  # noqa: F401
