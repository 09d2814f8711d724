"""The ordering desk's tables, in the `ordering` schema."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions.database import Base

SCHEMA = "ordering"


class Counter(Base):
    """Sequences of human-readable ids (projects per year, requests per project)."""

    __tablename__ = "counters"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012 - SQLAlchemy's declarative API

    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # 2025-034-SCI
    kind: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(Text)
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    objectives: Mapped[str] = mapped_column(Text, default="")
    methodology: Mapped[str] = mapped_column(Text, default="")
    expected_results: Mapped[str] = mapped_column(Text, default="")
    publications: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(Integer, index=True)
    owner_email: Mapped[str] = mapped_column(Text)
    owner_name: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    entity_name: Mapped[str | None] = mapped_column(Text)
    members: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    requests: Mapped[list[Request]] = relationship(back_populates="project", lazy="raise")


class Request(Base):
    """An archive (A) or tasking (P) request: a STAPI order."""

    __tablename__ = "requests"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(48), primary_key=True)  # 2025-034-SCI-2025-A-002-SPOT
    project_id: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.projects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(1))
    product_id: Mapped[str] = mapped_column(String(40))
    family: Mapped[str] = mapped_column(String(20))
    requester_id: Mapped[int] = mapped_column(Integer, index=True)
    requester_email: Mapped[str] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[int | None] = mapped_column(Integer, index=True)
    entity_name: Mapped[str | None] = mapped_column(Text)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The area of interest (GeoJSON, EPSG:4326): for archives, cut to the scenes."""
    area_km2: Mapped[float] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    scenes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    """Archive: the ordered scenes as the commandable collection showed them."""
    opportunity: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    over_quota: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    quota_state: Mapped[str] = mapped_column(String(10), default="none")
    """none, reserved (on acceptance), debited (completed), released."""
    upstream_id: Mapped[str | None] = mapped_column(Text)
    upstream_status: Mapped[str | None] = mapped_column(Text)
    price: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    delivered: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    """The catalogue items made from the delivery: [{collection, id}]."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    project: Mapped[Project] = relationship(back_populates="requests", lazy="raise")


class StatusEvent(Base):
    __tablename__ = "statuses"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.requests.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)


class Message(Base):
    """The thread between requester and instructors (« Demandeur / Destinataire »)."""

    __tablename__ = "messages"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    request_id: Mapped[str] = mapped_column(ForeignKey(f"{SCHEMA}.requests.id"), index=True)
    author_id: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(Text)
    author_role: Mapped[str] = mapped_column(String(20))  # requester, instructor
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Quota(Base):
    """An entity's km² for a sensor family and a period: allowed (the free quota), reserved
    by accepted requests, used by completed ones."""

    __tablename__ = "quotas"
    __table_args__ = (
        UniqueConstraint("entity_id", "family", "period_start"),
        {"schema": SCHEMA},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer)
    entity_name: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    allowed_km2: Mapped[float] = mapped_column(Float)
    reserved_km2: Mapped[float] = mapped_column(Float, default=0.0)
    used_km2: Mapped[float] = mapped_column(Float, default=0.0)
