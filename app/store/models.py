"""The case store's tables (SQLAlchemy 2 typed mappings), the same on encrypted SQLite and PostgreSQL.

Rules every table keeps (DEVELOPERS.md, issue 3): keys are client-generated UUIDs (records are created offline on
many laptops and merged centrally); instants are timezone-aware and stored in UTC; what happens to a case is an
append-only event (`case_events`: database triggers refuse UPDATE and DELETE). Columns of `cases` such as
`status`, `assignee_id` and `member_name` are the worklist's projection of those events, kept in the same
transaction as the event that changes them.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

from sqlalchemy import (JSON, BigInteger, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        TypeDecorator, Uuid, event, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC; naive values are refused so that a local time is never stored by mistake."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: instants must be timezone-aware")
        value = value.astimezone(timezone.utc)
        # SQLite has no time zone type: store naive UTC text, which sorts correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# "Open" (app.domain.case_states): any state before closed. Written as literal SQL so that the partial indexes below
# match the worklist's WHERE clause on SQLite, which compares a partial index's condition term by term.
OPEN_CASE_SQL = "status <> 'closed'"
# The unassigned team queue's partial index condition, the same terms the worklist's WHERE clause carries.
UNASSIGNED_OPEN_CASE_SQL = f"{OPEN_CASE_SQL} AND assignee_id IS NULL"


class Base(DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "members"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    cin: Mapped[str | None] = mapped_column(String(16), unique=True, comment="Medi-Cal client index number")
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1), default="U")
    language: Mapped[str] = mapped_column(String(8), default="en", comment="preferred written language, ISO 639")
    alternative_format: Mapped[str | None] = mapped_column(String(20), comment="large-print, audio, braille, electronic")
    address_line: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    county: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    plan_member_id: Mapped[str | None] = mapped_column(String(20), comment="the plan's own member id")  # intake

    __table_args__ = (Index("ux_members_plan_member_id", "plan_member_id", unique=True),)

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    specialty: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(20))
    fax: Mapped[str | None] = mapped_column(String(20))
    address_line: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32), comment="app.domain.roles.ROLES")
    team: Mapped[str | None] = mapped_column(String(20), comment="app.domain.vocabulary.TEAMS")
    credential: Mapped[str | None] = mapped_column(String(20), comment="license type: RN, LVN, MD, DO, PharmD, CPhT")
    specialty: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    # Sign-in (issue 6, app.services.auth): an argon2id hash, never the password; locked after repeated failures.
    password_hash: Mapped[str | None] = mapped_column(String(200), comment="argon2id hash; None: cannot sign in")
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                                 comment="failed sign-ins in a row")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="sign-in refused until then")
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phone: Mapped[str | None] = mapped_column(String(20), comment="direct phone number (printed on provider letters)")


class Case(Base):
    """An authorization request (TAR) and the worklist's projection of its events."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tar: Mapped[str] = mapped_column(String(20), unique=True, comment="TAR number as the requester knows it")
    line_of_business: Mapped[str] = mapped_column(String(16))
    service_category: Mapped[str] = mapped_column(String(24))
    review_timing: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="received")
    team: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    requesting_provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    servicing_provider_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))
    place_of_service: Mapped[str | None] = mapped_column(String(2), comment="CMS place-of-service code")
    requested_los_days: Mapped[int | None] = mapped_column(Integer, comment="requested length of stay (inpatient)")
    proposed_date: Mapped[date | None] = mapped_column(Date, comment="proposed date of procedure")
    # Worklist projection, denormalised so that sorting and filtering by them is one indexed table scan.
    member_name: Mapped[str] = mapped_column(String(170), comment="'Last, First' of the member")
    service_summary: Mapped[str] = mapped_column(String(200))
    decision_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="from the clock engine")
    assignee_username: Mapped[str | None] = mapped_column(
        String(64), comment="the assignee's username, for sorting by assignee (kept by the `assignee` relationship)")
    # Projection of the determination and extension events, for the timeliness and CMS-0057-F reports.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="instant of the current determination")
    outcome: Mapped[str | None] = mapped_column(String(32), comment="approved, partially-approved, denied, ...")
    extensions_taken: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, comment="bumped by every event; sync's base version")

    member: Mapped[Member] = relationship()
    requesting_provider: Mapped[Provider] = relationship(foreign_keys=[requesting_provider_id])
    servicing_provider: Mapped[Provider | None] = relationship(foreign_keys=[servicing_provider_id])
    assignee: Mapped[User | None] = relationship()
    lines: Mapped[list[RequestLine]] = relationship(back_populates="case", order_by="RequestLine.line_number")
    diagnoses: Mapped[list[Diagnosis]] = relationship(back_populates="case", order_by="Diagnosis.rank")
    notes: Mapped[list[ClinicalNote]] = relationship(back_populates="case", order_by="ClinicalNote.written_at")

    __table_args__ = (
        # The worklist's sort orders, each ending in the TAR number (a total order for paging). Partial: only open
        # cases, which is all any queue shows, so skipping to the last page walks a small index and no table rows.
        *(
            Index(f"ix_cases_open_{name}", *columns, "tar", sqlite_where=text(OPEN_CASE_SQL),
                  postgresql_where=text(OPEN_CASE_SQL))
            for name, columns in (
                ("due", ("decision_due_at",)),
                ("received", ("received_at",)),
                ("member", ("member_name",)),
                ("service", ("service_summary",)),
                ("status", ("status",)),
                ("timing", (text("urgency DESC"), "review_timing")),
                ("assignee", ("assignee_username",)),
            )
        ),
        # The unassigned team queue in its default order (nearest due first) without sorting a team's backlog.
        Index("ix_cases_unassigned_due", "team", "decision_due_at", "tar", sqlite_where=text(UNASSIGNED_OPEN_CASE_SQL),
              postgresql_where=text(UNASSIGNED_OPEN_CASE_SQL)),
        Index("ix_cases_assignee", "assignee_id", "status"),
        Index("ix_cases_team_status", "team", "status"),
        Index("ix_cases_category_status", "service_category", "status"),
        Index("ix_cases_member", "member_id"),
        Index("ix_cases_decided_at", "decided_at"),
    )


class RequestLine(Base):
    __tablename__ = "request_lines"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(20), comment="CPT or HCPCS; an NDC; or X12:<service type>")
    description: Mapped[str] = mapped_column(String(200))
    units: Mapped[int] = mapped_column(Integer, default=1)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="lines")


class Diagnosis(Base):
    __tablename__ = "diagnoses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer, comment="1 = primary")
    code: Mapped[str] = mapped_column(String(8), comment="ICD-10-CM")
    description: Mapped[str] = mapped_column(String(200))

    case: Mapped[Case] = relationship(back_populates="diagnoses")


class ClinicalNote(Base):
    __tablename__ = "clinical_notes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)
    author: Mapped[str] = mapped_column(String(120), comment="who wrote it (requester or reviewer)")
    text: Mapped[str] = mapped_column(Text)
    attachment_ref: Mapped[str | None] = mapped_column(String(300), comment="document reference, e.g. fax file name")

    case: Mapped[Case] = relationship(back_populates="notes")


@event.listens_for(Case.assignee, "set")
def _keep_assignee_username(case: Case, user: User | None, _old, _initiator) -> None:
    """`cases.assignee_username` follows the `assignee` relationship, whoever sets it (claim, assign, refer, ...)."""
    case.assignee_username = user.username if user is not None else None


class CaseEvent(Base):
    """Append-only: who did what to a case, when (UTC), with its payload. Never updated, never deleted."""

    __tablename__ = "case_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), comment="None: the system")
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_case_events_case", "case_id", "occurred_at"),)


class Setting(Base):
    """Facts about this store (its device id, when it was made). Key/value, small."""

    __tablename__ = "store_settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class CriteriaSetRecord(Base):
    """A criteria set version held in the store (issue 5): imported by an administrator, or a shipped set kept here
    the first time a case applied it. Immutable (triggers refuse UPDATE and DELETE): a case's events cite
    (set_id, version, sha256), and this row keeps the exact content they cite for as long as the store lives."""

    __tablename__ = "criteria_sets"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    set_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(20))
    content: Mapped[dict] = mapped_column(JSON, comment="the set as in its file (format umws-criteria-set/1)")
    sha256: Mapped[str] = mapped_column(String(64), comment="SHA-256 of the canonical JSON of content")
    origin: Mapped[str] = mapped_column(String(12), comment="imported, or shipped (kept when a case applied it)")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str | None] = mapped_column(String(40), comment="username; None: the system")

    __table_args__ = (Index("uq_criteria_sets_set_version", "set_id", "version", unique=True),)


# ----- workflow and audit trail (issue 6) ---------------------------------------------------------------------
class CaseWorkflow(Base):
    """Workflow facts of a case that its row has no column for, kept in the same transaction as the event that
    changes them (like the worklist projection on `cases`). Derived data: the events are the truth. A case with no
    row here (demo data made before the workflow) reads as app.domain.case_states.flow_of says."""

    __tablename__ = "case_workflow"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    referred_to: Mapped[str | None] = mapped_column(String(20), comment="physician, pharmacist, same-specialty")
    referred_specialty: Mapped[str | None] = mapped_column(String(80), comment="same-specialty referrals")
    referral_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the current referral's event")
    pended_from: Mapped[str | None] = mapped_column(String(16), comment="state to return to when information arrives")
    pend_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the current pend's event")
    determination_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the current determination")
    criteria_result: Mapped[str | None] = mapped_column(String(16), comment="criteria result of the determination")
    provider_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    member_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_case_workflow_referred_to", "referred_to"),)


class CareInvolvement(Base):
    """A user recorded as involved in a member's care: they may not decide that member's cases (conflict of
    interest, roles-and-authority.md). Rows are only added; the case event `involvement-declared` shows it."""

    __tablename__ = "care_involvements"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), comment="the case it was declared on")
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    declared_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_care_involvements_member_user", "member_id", "user_id"),)


class AuditRecord(Base):
    """Append-only, hash-chained audit trail: who, when (UTC), what, before and after (app.domain.audit).

    One chain per device (store installation): `seq` counts from 1 on each device, `prev_hash` is the hash of the
    previous record of the same device. Database triggers refuse UPDATE and DELETE. No foreign keys: records are
    merged from other devices and outlive what they describe."""

    __tablename__ = "audit_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, comment="store installation whose chain this is")
    seq: Mapped[int] = mapped_column(Integer, comment="1, 2, 3 ... per device")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80), comment="username, or the operating-system user")
    actor_kind: Mapped[str] = mapped_column(String(16), comment="user, os-user, system")
    action: Mapped[str] = mapped_column(String(16), comment="create, change, view, access")
    what: Mapped[str] = mapped_column(String(60), comment="event kind or what was viewed")
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tar: Mapped[str | None] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text, comment="canonical JSON: before, after, event")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), comment="SHA-256 of the fields and prev_hash")

    __table_args__ = (
        Index("ux_audit_records_device_seq", "device_id", "seq", unique=True),
        Index("ix_audit_records_case", "case_id", "recorded_at"),
    )


class AuditChainHead(Base):
    """The last record of each device's chain (its number and hash): deleting records at the end of a chain, or
    adding some, shows against it. The one row a store's own device updates with every record it appends."""

    __tablename__ = "audit_chain_heads"

    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ----- letters (issue 7) --------------------------------------------------------------------------------------
class Letter(Base):
    """A letter of a case: drafted when a determination, an extension or a pend is recorded, previewed, issued,
    mailed. `status` is the projection of the case's letter events (letter-drafted, letter-issued, letter-mailed,
    letter-translated, letter-superseded), kept in the same transaction as the event."""

    __tablename__ = "letters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32), comment="app.domain.letters.kinds.KINDS")
    recipient: Mapped[str] = mapped_column(String(10), comment="member or provider")
    language: Mapped[str] = mapped_column(String(8), comment="ISO 639 of the letter")
    status: Mapped[str] = mapped_column(String(20), comment="draft, translation-needed, issued, mailed, superseded")
    source_event_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, comment="the determination, extension or pend event it notifies")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    mail_by_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="member-notice / provider-notification due (clock engine)")
    effective_date: Mapped[date | None] = mapped_column(Date, comment="termination / reduction takes effect")
    translations: Mapped[dict | None] = mapped_column(JSON, comment="the reviewer's free texts, translated")
    issued_letter_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the issued document (issued_letters)")
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_method: Mapped[str | None] = mapped_column(String(12), comment="mail, fax, phone, portal")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()

    __table_args__ = (Index("ix_letters_case", "case_id"), Index("ix_letters_queue", "status", "mail_by_at"))


class IssuedLetter(Base):
    """The exact PDF bytes of an issued letter with their SHA-256, its content model and notice date. Immutable
    (triggers refuse UPDATE and DELETE): a reprint returns these bytes."""

    __tablename__ = "issued_letters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letters.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    notice_date: Mapped[date] = mapped_column(Date)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, comment="the exact bytes sent")
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON, comment="the content model the PDF was rendered from")
    criteria: Mapped[list | None] = mapped_column(JSON, comment="criteria set ids and versions cited")
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, comment="the issued letter this one corrects (a second notification)")

    __table_args__ = (Index("ix_issued_letters_letter", "letter_id"),)


# ----- sync with the central store (issue 9; app.services.intents, app.sync, app.server) -----------------------
class SyncOutbox(Base):
    """A laptop's changes waiting to go up: one named intent with its payload per service-layer write, written in
    the same local transaction as the write itself (app.services.intents). Never a row diff.

    `state`: pending (not yet answered by the server), acked (answered: `outcome` applied, merged or conflict),
    done (the case was pulled again after the answer, so the laptop holds the server's version of it)."""

    __tablename__ = "sync_outbox"

    mutation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, comment="UUIDv7")
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer, comment="1, 2, 3 ... per device: the push order")
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tar: Mapped[str | None] = mapped_column(String(20))
    base_version: Mapped[int | None] = mapped_column(Integer, comment="the case version the change was made on")
    base_mutation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, comment="the unconfirmed change of this laptop that base_version comes from (None: a server version)")
    after_version: Mapped[int | None] = mapped_column(Integer)
    intent: Mapped[str] = mapped_column(String(40), comment="app.services.intents.INTENTS")
    payload: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="device time of the change")
    mine: Mapped[dict | None] = mapped_column(JSON, comment="the case as this laptop saw it after the change")
    state: Mapped[str] = mapped_column(String(8), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(12))
    message: Mapped[str | None] = mapped_column(Text)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ux_sync_outbox_device_seq", "device_id", "seq", unique=True),
        Index("ix_sync_outbox_state", "state", "seq"),
        Index("ix_sync_outbox_case", "case_id", "state"),
    )


class SyncDevice(Base):
    """A laptop known to the central store: registered at its first sign-in, refused once revoked."""

    __tablename__ = "sync_devices"

    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, comment="the laptop store's device id")
    name: Mapped[str] = mapped_column(String(120))
    registered_by: Mapped[str] = mapped_column(String(40))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", comment="last change applied")
    audit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", comment="last audit record held")
    clock_offset_seconds: Mapped[int | None] = mapped_column(Integer, comment="server time minus device time")
    skew_flagged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="clock more than 5 minutes off")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(40))
    revoke_reason: Mapped[str | None] = mapped_column(String(200))
    tar_block: Mapped[int | None] = mapped_column(Integer, comment="this laptop's block of intake TAR numbers (unique)")

    __table_args__ = (Index("ux_sync_devices_tar_block", "tar_block", unique=True),)


class SyncToken(Base):
    """A short-lived sign-in token of a user on a device; only its SHA-256 is kept."""

    __tablename__ = "sync_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_devices.device_id"))
    username: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sync_tokens_device", "device_id"),)


class SyncMutation(Base):
    """Every change the server received, keyed by (device, seq), with the first answer it gave: a repeated push
    gets that answer again and nothing is applied twice."""

    __tablename__ = "sync_mutations"

    device_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    mutation_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tar: Mapped[str | None] = mapped_column(String(20))
    intent: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(40))
    client_base: Mapped[int | None] = mapped_column(Integer)
    client_after: Mapped[int | None] = mapped_column(Integer)
    server_base: Mapped[int | None] = mapped_column(Integer, comment="the server version the change was judged on")
    server_after: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(12), comment="applied, merged or conflict")
    answer: Mapped[dict] = mapped_column(JSON)
    device_time: Mapped[datetime] = mapped_column(UTCDateTime, comment="when the laptop says it happened")
    applied_time: Mapped[datetime] = mapped_column(UTCDateTime, comment="the instant the event carries")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="when the server received it")

    __table_args__ = (Index("ix_sync_mutations_case", "case_id", "seq"),)


class SyncConflict(Base):
    """A change that could not stand with what the central store already held, kept with both versions until a
    person resolves it (never last-writer-wins). `kind`: concurrent (someone else changed the case meanwhile) or
    refused (the server's rules refused it)."""

    __tablename__ = "sync_conflicts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    mutation_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tar: Mapped[str | None] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(20))
    intent: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    mine: Mapped[dict] = mapped_column(JSON, comment="the change and the case as the laptop saw it")
    theirs: Mapped[dict] = mapped_column(JSON, comment="the case on the server and what changed it meanwhile")
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_sync_conflicts_open", "resolved_at", "team"),)


class CaseLease(Base):
    """Who holds a case claimed online, until when (default 8 hours, renewed by each sync of the holder)."""

    __tablename__ = "case_leases"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    device_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncChange(Base):
    """The central store's commit-ordered change log: a number per changed row, taken at commit under one lock
    (PostgreSQL triggers, migration 0006), so a pull by `change_no > cursor` never skips a late commit."""

    __tablename__ = "sync_changes"

    change_no: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity: Mapped[str] = mapped_column(String(16), comment="case, user, criteria-set, conflict")
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class SyncCounter(Base):
    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncRebase(Base):
    """Cases a pull is replacing with the server's copy, for the duration of that local transaction only: the one
    time the local store lets the case's events go (their audit records stay; app.sync.apply)."""

    __tablename__ = "sync_rebase"

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)


# ----- intake (issue 11, app.services.intake) -------------------------------------------------------------------
class IntakeRecord(Base):
    """How a case came in: channel, who entered it, the sender's id and file, the network status, and what intake
    found (app.domain.intake.assessment: missing items, prior-authorization answers, redirections, late flag)."""

    __tablename__ = "intake_records"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), comment="form, fax, csv, fhir")
    received_by: Mapped[str | None] = mapped_column(String(40), comment="username of who entered it")
    network_status: Mapped[str] = mapped_column(String(16), comment="in-network, out-of-network, unknown")
    external_id: Mapped[str | None] = mapped_column(String(80), comment="the sender's own request id")
    source: Mapped[str | None] = mapped_column(String(300), comment="file (and line) it came from")
    primary_denial_date: Mapped[date | None] = mapped_column(Date)
    retro_eligibility_date: Mapped[date | None] = mapped_column(Date)
    assessment: Mapped[dict] = mapped_column(JSON, comment="missing items, authorization answers, redirections, "
                                                           "late flag")
    flags: Mapped[str] = mapped_column(String(200), default="", server_default="",
                                       comment="space-separated flag ids, for filtering")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntakeSource(Base):
    """A submission imported (a hash of its content) and the case it made or was merged into: importing the same
    bundle or file again creates nothing."""

    __tablename__ = "intake_sources"

    source_key: Mapped[str] = mapped_column(String(80), primary_key=True, comment="fhir:/csv: + SHA-256 of the content")
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    channel: Mapped[str] = mapped_column(String(8))
    disposition: Mapped[str] = mapped_column(String(12), comment="created, merged")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IntakeDocument(Base):
    """A faxed or scanned document moved from the inbox to the processed folder and attached to a case (never
    deleted: the file stays in the processed folder)."""

    __tablename__ = "intake_documents"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    file_name: Mapped[str] = mapped_column(String(255), comment="name in the inbox")
    stored_path: Mapped[str] = mapped_column(String(1000), comment="where it is now (processed folder)")
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(40))
    pages: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="arrival in the inbox")
    attached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attached_by: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (Index("ix_intake_documents_case", "case_id"), Index("ix_intake_documents_sha256", "sha256"))
