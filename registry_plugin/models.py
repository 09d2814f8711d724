"""The registry's tables, in the `registry` schema.

Entities adhere to DINAMIS through an adhesion (validated by their legal representative, then
instructed); accounts belong to an entity and are validated by its referent (RD); licences are
accepted by the entity (through its RL) and certified by each user. Every change of state is
written to the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions.database import Base
from extensions.i18n import language as current_language

SCHEMA = "registry"


def fk(target: str, **options: Any) -> ForeignKey:
    return ForeignKey(f"{SCHEMA}.{target}", **options)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Licence(Timestamped, Base):
    """A document entities accept and users certify: the charter or a product licence."""

    __tablename__ = "licences"
    __table_args__ = (UniqueConstraint("code", "version"), {"schema": SCHEMA})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))  # charte, spot67, pleiades-cat1, …
    version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    attestation: Mapped[str] = mapped_column(Text)  # the RL's checkbox: "J'atteste avoir…"
    certification: Mapped[str] = mapped_column(Text)  # the user's checkbox: "Je certifie avoir…"
    document: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20), default="all")  # all, french, foreign
    current: Mapped[bool] = mapped_column(Boolean, default=True)


class Entity(Timestamped, Base):
    __tablename__ = "entities"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    acronym: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(Text)
    nationality: Mapped[str] = mapped_column(String(80))
    parent_establishment: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text)
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40))  # one of the 11 eligibility categories
    interest_domain: Mapped[str] = mapped_column(Text)
    activity_sector: Mapped[str] = mapped_column(String(20))  # public, private
    entity_type: Mapped[str | None] = mapped_column(Text)  # e.g. "Communes"
    # awaiting_rl, awaiting_partner, awaiting_instruction, active, suspended, rejected,
    # deactivated, merged
    status: Mapped[str] = mapped_column(String(30), default="awaiting_rl")
    is_relay: Mapped[bool] = mapped_column(Boolean, default=False)
    relay_id: Mapped[int | None] = mapped_column(fk("entities.id"))
    super_entity_id: Mapped[int | None] = mapped_column(fk("entities.id"))
    merged_into_id: Mapped[int | None] = mapped_column(fk("entities.id"))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    other_names: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)  # merged entities'

    legal_representative: Mapped[LegalRepresentative | None] = relationship(
        back_populates="entity", uselist=False, lazy="selectin"
    )
    missions: Mapped[list[Mission]] = relationship(back_populates="entity", lazy="selectin")

    @property
    def french(self) -> bool:
        return self.nationality.strip().casefold() == "france"


class LegalRepresentative(Timestamped, Base):
    __tablename__ = "legal_representatives"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"), unique=True)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    function: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    nationality: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(  # their e-validation link last mailed
        DateTime(timezone=True), server_default=func.now()
    )
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    entity: Mapped[Entity] = relationship(back_populates="legal_representative")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Account(Timestamped, Base):
    __tablename__ = "accounts"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id"))
    email: Mapped[str] = mapped_column(Text, unique=True)  # stored lower-cased
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    function: Mapped[str] = mapped_column(Text)
    phone: Mapped[str] = mapped_column(String(40))
    nationality: Mapped[str] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    # pending, active, refused, deactivated, expired
    status: Mapped[str] = mapped_column(String(20), default="pending")
    expires_on: Mapped[date | None] = mapped_column(Date)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=lambda: ["user"])
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_by_id: Mapped[int | None] = mapped_column(fk("accounts.id"))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    language: Mapped[str] = mapped_column(String(5), default=current_language)
    """What its mails are written in (one of extensions.i18n.LANGUAGES): at first the language
    of whoever created the account (the reader's; French for a job or the CLI), then its own
    choice (its page, or the language switch while signed in)."""

    entity: Mapped[Entity] = relationship(lazy="joined", innerjoin=True, foreign_keys=[entity_id])

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class EntityAcceptance(Base):
    """A licence accepted by an entity, through its legal representative."""

    __tablename__ = "entity_acceptances"
    __table_args__ = (UniqueConstraint("entity_id", "licence_id"), {"schema": SCHEMA})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"))
    licence_id: Mapped[int] = mapped_column(fk("licences.id"))
    accepted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    accepted_by: Mapped[str] = mapped_column(Text)  # the RL: name and e-mail
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    licence: Mapped[Licence] = relationship(lazy="joined", innerjoin=True)


class AccountCertification(Base):
    """A licence certified by a user."""

    __tablename__ = "account_certifications"
    __table_args__ = (UniqueConstraint("account_id", "licence_id"), {"schema": SCHEMA})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(fk("accounts.id", ondelete="CASCADE"))
    licence_id: Mapped[int] = mapped_column(fk("licences.id"))
    certified_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    licence: Mapped[Licence] = relationship(lazy="joined", innerjoin=True)


class Mission(Timestamped, Base):
    """What a private entity may use DINAMIS for: a period, an area and sensors."""

    __tablename__ = "missions"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # rd, public_order
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    area: Mapped[dict[str, Any]] = mapped_column(JSONB)  # GeoJSON polygon (WGS 84)
    description_path: Mapped[str | None] = mapped_column(Text)
    description_name: Mapped[str | None] = mapped_column(Text)

    entity: Mapped[Entity] = relationship(back_populates="missions")
    sensors: Mapped[list[MissionSensor]] = relationship(
        back_populates="mission", lazy="selectin", cascade="all, delete-orphan"
    )


class MissionSensor(Base):
    __tablename__ = "mission_sensors"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission_id: Mapped[int] = mapped_column(fk("missions.id", ondelete="CASCADE"))
    sensor: Mapped[str] = mapped_column(String(40))  # a collection: spot67, pleiades, …
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)

    mission: Mapped[Mission] = relationship(back_populates="sensors")


class Partnership(Timestamped, Base):
    """A private contractor working for a public entity, which must validate it."""

    __tablename__ = "partnerships"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    private_entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"))
    public_entity_id: Mapped[int] = mapped_column(fk("entities.id"))
    # pending, validated, refused
    status: Mapped[str] = mapped_column(String(20), default="pending")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(fk("accounts.id"))

    private_entity: Mapped[Entity] = relationship(
        foreign_keys=[private_entity_id], lazy="joined", innerjoin=True
    )
    public_entity: Mapped[Entity] = relationship(
        foreign_keys=[public_entity_id], lazy="joined", innerjoin=True
    )


class Adhesion(Timestamped, Base):
    """An entity's request to adhere, from submission to instruction."""

    __tablename__ = "adhesions"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))  # public, private_rd, private_contractor
    submitted_by: Mapped[str] = mapped_column(Text)  # the future referent's e-mail
    relay_id: Mapped[int | None] = mapped_column(fk("entities.id"))
    rl_validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rl_address: Mapped[str | None] = mapped_column(INET)
    decision: Mapped[str | None] = mapped_column(String(20))  # accepted, rejected
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(fk("accounts.id"))
    act_path: Mapped[str | None] = mapped_column(Text)  # the PDF "Acte d'adhésion"
    act_translations: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    """The act in each other language ({"en": its file}), made with it at the decision."""
    filed_by_id: Mapped[int | None] = mapped_column(fk("accounts.id"))  # a relay's referent
    avenant: Mapped[str | None] = mapped_column(Text)  # the relay partnership's avenant

    entity: Mapped[Entity] = relationship(lazy="joined", innerjoin=True, foreign_keys=[entity_id])
    relay: Mapped[Entity | None] = relationship(lazy="selectin", foreign_keys=[relay_id])
    filed_by: Mapped[Account | None] = relationship(lazy="selectin", foreign_keys=[filed_by_id])


class RelayConvention(Base):
    """The convention that makes an adherent entity a relay partner of DINAMIS (the newest
    is in force), with its signed document."""

    __tablename__ = "relay_conventions"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_id: Mapped[int] = mapped_column(fk("entities.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    signed_on: Mapped[date] = mapped_column(Date)
    document_path: Mapped[str] = mapped_column(Text)
    document_name: Mapped[str] = mapped_column(Text)
    designated_by_id: Mapped[int | None] = mapped_column(fk("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LinkToken(Base):
    """A signed, expiring, single-use link sent by e-mail: its nonce, recorded when used."""

    __tablename__ = "link_tokens"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(30))  # verify_email, rl_validation
    email: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuthToken(Base):
    """A credential: a page session, a bearer token, or a personal API key (hashed)."""

    __tablename__ = "auth_tokens"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(fk("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # session, bearer, apikey
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(lazy="joined", innerjoin=True)


class Draft(Base):
    """A wizard in progress (adhesion or account), after the e-mail was verified."""

    __tablename__ = "drafts"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # adhesion, account
    email: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    upload_path: Mapped[str | None] = mapped_column(Text)
    upload_name: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    __tablename__ = "audit_log"
    __table_args__ = {"schema": SCHEMA}  # noqa: RUF012

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(fk("accounts.id"))
    actor: Mapped[str] = mapped_column(Text)  # an e-mail, "RL <e-mail>", or "system"
    action: Mapped[str] = mapped_column(String(60))  # e.g. adhesion.submitted, account.validated
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    address: Mapped[str | None] = mapped_column(INET)
