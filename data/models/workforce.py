"""Technicians and what decides when and where they can work: skills, shifts, absences."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from data.models.base import Base, utcnow
from data.models.org import str_enum
from data.models.types import Money, UTCDateTime


class TechnicianStatus(StrEnum):
    OFF = "off"
    AVAILABLE = "available"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    BREAK = "break"
    ABSENT = "absent"


class AbsenceKind(StrEnum):
    LEAVE = "leave"
    SICK = "sick"
    TRAINING = "training"


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Technician(Base):
    __tablename__ = "technicians"
    __table_args__ = (
        CheckConstraint("home_lat BETWEEN -90 AND 90", name="home_lat_range"),
        CheckConstraint("home_lon BETWEEN -180 AND 180", name="home_lon_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(40), default=None)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    home_lat: Mapped[float]
    home_lon: Mapped[float]
    hourly_cost: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    max_daily_minutes: Mapped[int] = mapped_column(default=480)
    overtime_allowance_minutes: Mapped[int] = mapped_column(default=60)
    active: Mapped[bool] = mapped_column(default=True)
    # Archived records stay for the history that points at them but leave lists and pickers.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Live state, written only by the status/position services.
    status: Mapped[TechnicianStatus] = mapped_column(
        str_enum(TechnicianStatus, "technician_status"), default=TechnicianStatus.OFF
    )
    last_lat: Mapped[float | None] = mapped_column(default=None)
    last_lon: Mapped[float | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    skills: Mapped[list[TechnicianSkill]] = relationship(
        back_populates="technician", cascade="all, delete-orphan", lazy="selectin"
    )
    shifts: Mapped[list[ShiftPattern]] = relationship(
        back_populates="technician", cascade="all, delete-orphan", lazy="selectin"
    )

    def skill_levels(self) -> dict[str, int]:
        return {ts.skill.code: ts.level for ts in self.skills}


class TechnicianSkill(Base):
    __tablename__ = "technician_skills"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),)

    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    level: Mapped[int] = mapped_column(default=1)

    technician: Mapped[Technician] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship(lazy="joined")


class ShiftPattern(Base):
    """One weekday of a technician's regular week, in the branch's local time."""

    __tablename__ = "shift_patterns"
    __table_args__ = (
        UniqueConstraint("technician_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"))
    weekday: Mapped[int]  # Monday = 0
    start: Mapped[time]
    end: Mapped[time]
    break_minutes: Mapped[int] = mapped_column(default=30)

    technician: Mapped[Technician] = relationship(back_populates="shifts")


class ShiftException(Base):
    """A dated change to the weekly pattern: a different shift, or no shift at all (start is None)."""

    __tablename__ = "shift_exceptions"
    __table_args__ = (UniqueConstraint("technician_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"))
    day: Mapped[date]
    start: Mapped[time | None] = mapped_column(default=None)
    end: Mapped[time | None] = mapped_column(default=None)
    reason: Mapped[str | None] = mapped_column(String(200), default=None)


class Absence(Base):
    __tablename__ = "absences"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AbsenceKind] = mapped_column(str_enum(AbsenceKind, "absence_kind"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(500), default=None)
    source: Mapped[str] = mapped_column(String(40), default="dispatch")  # or an HR system's name
    external_id: Mapped[str | None] = mapped_column(String(120), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlannedBreak(Base):
    """A break the planner placed on a technician's day, stored with the applied plan so the board draws
    the break the plan counted on instead of guessing one."""

    __tablename__ = "planned_breaks"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("technicians.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
