"""The case store's tables (SQLAlchemy 2 typed mappings), the same on encrypted SQLite and PostgreSQL.

Rules every table keeps (DEVELOPERS.md, issue 3): keys are client-generated UUIDs (records are created offline on
many laptops and merged centrally); instants are timezone-aware and stored in UTC; what happens to a case is an
append-only event (`case_events`: database triggers refuse UPDATE and DELETE). Columns of `cases` such as
`status`, `assignee_id` and `member_name` are the worklist's projection of those events, kept in the same
transaction as the event that changes them.
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timezone

from sqlalchemy import (JSON, BigInteger, Date, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String,
                        Text, Time, TypeDecorator, Uuid, event, false, text)
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
# An open case whose decision clock has stopped (app.domain.queues.DECIDED_STATES, less closed): the worklist sorts
# these after every running clock. Literal SQL, the same in the ORDER BY and in the index that serves it.
DECIDED_OPEN_CASE_SQL = "status IN ('determined', 'notified')"
# The unassigned team queue's partial index condition, the same terms the worklist's WHERE clause carries.
UNASSIGNED_OPEN_CASE_SQL = f"{OPEN_CASE_SQL} AND assignee_id IS NULL"


class Base(DeclarativeBase):
    pass


# Issue 14: the UM committee's figures of a period read these covering indexes only, never the wide case rows (a
# year of 200,000 cases in under a second; app.store.committee). The pended one is partial: queries name the status.
PENDED_CASE_SQL = "status = 'pended'"
COMMITTEE_INDEX_COLUMNS = {  # grouping columns first: GROUP BY reads the index in order, with no sort
    "ix_cases_received_figures": ("service_category", "line_of_business", "received_at", "team"),
    "ix_cases_decided_figures": ("outcome", "line_of_business", "decided_at", "team", "service_category",
                                 "requested_los_days"),
}
COMMITTEE_INDEXES = (
    *(Index(name, *columns) for name, columns in COMMITTEE_INDEX_COLUMNS.items()),
    # The period's day first (migration 0019, which replaced 0012's ix_cases_timeliness_figures, grouping columns
    # first): a quarter's timeliness reads the quarter's decisions only (a range, grouped in a temp B-tree) and its
    # open past due cases (decided_at NULL, a range of their due) without reading a case row.
    Index("ix_cases_timeliness_period", "decided_at", "decision_due_at", "line_of_business", "review_timing",
          "urgency", "service_category", "received_at", "team", "status"),
    Index("ix_cases_pended_figures", "team", "line_of_business", "decision_due_at", "received_at", "id",
          sqlite_where=text(PENDED_CASE_SQL), postgresql_where=text(PENDED_CASE_SQL)),
)


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
    # Appeals (issue 13): whom the user reports to; an appeal is never decided by a subordinate of the first decider.
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), comment="whom the user reports to")


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
        # The default order of a queue holding decided cases too (My cases, All open): running clocks first, nearest
        # due first, then the decided cases (issue 4: "sorted by nearest breach").
        Index("ix_cases_open_running_due", text(f"({DECIDED_OPEN_CASE_SQL})"), "decision_due_at", "tar",
              sqlite_where=text(OPEN_CASE_SQL), postgresql_where=text(OPEN_CASE_SQL)),
        # The unassigned team queue in its default order (nearest due first) without sorting a team's backlog.
        Index("ix_cases_unassigned_due", "team", "decision_due_at", "tar", sqlite_where=text(UNASSIGNED_OPEN_CASE_SQL),
              postgresql_where=text(UNASSIGNED_OPEN_CASE_SQL)),
        Index("ix_cases_assignee", "assignee_id", "status"),
        Index("ix_cases_team_status", "team", "status"),
        Index("ix_cases_category_status", "service_category", "status"),
        Index("ix_cases_member", "member_id"),
        Index("ix_cases_decided_at", "decided_at"),
        *COMMITTEE_INDEXES,  # issue 14 (migration 0012)
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

    __table_args__ = (Index("ix_case_events_case", "case_id", "occurred_at"),
                      *(Index(f"ix_case_events_{kind}", "occurred_at", "actor_id", "case_id",
                              sqlite_where=text(f"kind = '{kind}'"), postgresql_where=text(f"kind = '{kind}'"))
                        for kind in ("determined", "reopened")))  # issue 14: a period's decisions (migration 0012)


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
    # A pull brought the server's copy of the case while this change was unsent and left it aside (app.sync.apply):
    # the case is pulled again after the push whatever the answer, an echo's included (migration 0021).
    copy_waiting: Mapped[bool] = mapped_column(default=False, server_default=false(),
                                               comment="a pull left the server's copy aside while this was unsent")

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
    # Echoes (migration 0021, app.server.push.ECHOES): the transaction that answered the change (its default on
    # PostgreSQL), and whether the answer left the laptop's copy of the case as the server's.
    xact: Mapped[int | None] = mapped_column(BigInteger, comment="the central transaction that answered the change")
    echo: Mapped[bool] = mapped_column(default=False, server_default=false(),
                                       comment="the answer left the laptop's copy of the case as the server's")

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
    # When it was numbered (clock_timestamp() at commit, migration 0020): rows older than a horizon are pruned
    # (app.server.change_log). Never written on a laptop.
    changed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, index=True, comment="when the change was numbered (pruning: app.server.change_log)")
    # The central transaction that made it (the trigger's pg_current_xact_id(), migration 0021): a pull leaves out
    # a case whose changes all come from its caller's own pushes answered as echoes (app.server.pull).
    xact: Mapped[int | None] = mapped_column(BigInteger, comment="the central transaction that made the change")


class SyncCounter(Base):
    __tablename__ = "sync_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    # The lowest change number the log still serves (0: never pruned); a cursor below it less one is told to do
    # a first pull again (app.server.pull).
    horizon: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0",
                                         comment="the lowest change number still served (0: never pruned)")


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
    stored_centrally_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="when the central store confirmed it holds the file")

    __table_args__ = (Index("ix_intake_documents_case", "case_id"), Index("ix_intake_documents_sha256", "sha256"))


class DocumentFile(Base):
    """A document's file, by the SHA-256 of its bytes (migration 0017; append-only: the same SHA-256 is the same
    bytes). On the central store: every file a laptop uploaded for an intake document; on a laptop: the files it
    downloaded from the central store (kept inside the encrypted store)."""

    __tablename__ = "document_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True, comment="hex SHA-256 of content")
    media_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_device: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the device that uploaded it")


# ----- inpatient and facility stays (issue 12) ------------------------------------------------------------------
# The stay queues' partial indexes: open stays only, which is all the queues show.
OPEN_STAY_SQL = "status = 'open'"
STAYS_ADMITTED_FIGURES = ("admit_date", "line_of_business", "admit_level_of_care", "team", "admission_source",
                          "readmission_of_id")
STAYS_DISCHARGED_FIGURES = ("discharge_date", "line_of_business", "admit_level_of_care", "team", "id")


class Stay(Base):
    """An admission to a facility and the projection of its events (`stay-*` events on its case, a concurrent
    case). The day ledger is `stay_days`; both are kept in the same transaction as the event that changes them
    (app.services.stays), like the worklist projection on `cases`."""

    __tablename__ = "stays"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), unique=True)
    tar: Mapped[str] = mapped_column(String(20), comment="the case's TAR number (a total order for the queues)")
    team: Mapped[str] = mapped_column(String(20), comment="the case's team (fixed at receipt), for the team queues")
    line_of_business: Mapped[str | None] = mapped_column(  # issue 14, migration 0015
        String(16), comment="the case's line of business (fixed at receipt), for the figures")
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    facility_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    admitting_physician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))
    attending_physician_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("providers.id"))
    admitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    admit_date: Mapped[date] = mapped_column(Date, comment="plan-local day of the admission")
    admission_type: Mapped[str] = mapped_column(String(12), comment="emergency, urgent, elective")
    admission_source: Mapped[str] = mapped_column(String(12), default="admission",
                                                  comment="admission, or transfer from another facility")
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="when the facility notified the plan")
    admit_level_of_care: Mapped[str] = mapped_column(String(20))
    level_of_care: Mapped[str] = mapped_column(String(20), comment="current level of care")
    status: Mapped[str] = mapped_column(String(12), default="open", comment="open, discharged")
    late_notice: Mapped[bool] = mapped_column(default=False, comment="notified more than one business day late")
    readmission_of_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the stay discharged within 30 days")
    readmission_days: Mapped[int | None] = mapped_column(Integer, comment="days since that discharge")
    transferred_from_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the stay this one continues")
    next_review_date: Mapped[date | None] = mapped_column(Date)
    approved_through: Mapped[date | None] = mapped_column(Date, comment="the last approved day")
    review_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="app.domain.stay_clocks.review_due")
    expected_discharge_date: Mapped[date | None] = mapped_column(Date)
    care_plan_pending: Mapped[bool] = mapped_column(
        default=False, comment="days denied or level lowered: provider not yet told or no care plan agreed")
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    discharge_date: Mapped[date | None] = mapped_column(Date, comment="plan-local day of the discharge")
    disposition: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_stays_open_review", "review_due_at", "tar", sqlite_where=text(OPEN_STAY_SQL),
              postgresql_where=text(OPEN_STAY_SQL)),
        Index("ix_stays_open_team_review", "team", "review_due_at", "tar", sqlite_where=text(OPEN_STAY_SQL),
              postgresql_where=text(OPEN_STAY_SQL)),
        Index("ix_stays_open_discharge", "expected_discharge_date", "review_due_at", "tar",
              sqlite_where=text(OPEN_STAY_SQL), postgresql_where=text(OPEN_STAY_SQL)),
        Index("ix_stays_member", "member_id", "admitted_at"),
        Index("ix_stays_admit_date", "admit_date"),
        Index("ix_stays_discharge_date", "discharge_date"),
        # issue 14 (migration 0016): the committee's stays admitted / discharged in a period, with no stay row read
        Index("ix_stays_admitted_figures", *STAYS_ADMITTED_FIGURES),
        Index("ix_stays_discharged_figures", *STAYS_DISCHARGED_FIGURES),
    )


class StayDay(Base):
    """One day of a stay's ledger (app.domain.stays.Ledger): its status, level of care and deciding determination."""

    __tablename__ = "stay_days"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    stay_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stays.id"))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), comment="requested, pending, approved, denied, not-used")
    level_of_care: Mapped[str] = mapped_column(String(20))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="when the facility asked for it")
    determination_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the stay-determined event")
    on_leave: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ux_stay_days_stay_day", "stay_id", "day", unique=True),
        Index("ix_stay_days_day_status", "day", "status"),
        # issue 14 (migration 0016): the ledger's days of a period for the committee's figures, without reading the
        # rows (it replaced 0015's ix_stay_days_figures, stay_id first)
        Index("ix_stay_days_period", "day", "status", "on_leave", "level_of_care", "stay_id"),
    )


class StayMonth(Base):
    """A stay's ledger counted by calendar month (issue 14, migration 0016): its bed days (app.store.stay_figures
    `_bed_day`), those at the SNF level of care, and its denied days, with the stay's line of business, level of
    care at admission and team. Kept by the stay services in the transaction that changes the ledger or the
    discharge (app.store.stay_figures.refresh_stay_months), so the committee's utilization figures group one row per
    stay and month instead of every ledger day."""

    __tablename__ = "stay_months"

    stay_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stays.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True, comment="the first day of the month")
    # the stay's, fixed at its admission: what the figures group and filter by, with no stay row read
    line_of_business: Mapped[str | None] = mapped_column(String(16))
    admit_level_of_care: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(20))
    bed_days: Mapped[int] = mapped_column(Integer)
    snf_days: Mapped[int] = mapped_column(Integer, comment="bed days at the SNF level of care")
    denied_days: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # a period's whole months, covering what the figures group and sum
        Index("ix_stay_months_figures", "month", "line_of_business", "admit_level_of_care", "team", "bed_days",
              "snf_days", "denied_days"),
    )


class EnrolmentMonth(Base):
    """A month a member was enrolled in the plan (member-months, the denominator of utilization per 1,000)."""

    __tablename__ = "enrolment_months"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    month: Mapped[date] = mapped_column(Date, comment="the first day of the month")
    line_of_business: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        Index("ux_enrolment_months_member_month", "member_id", "month", unique=True),
        Index("ix_enrolment_months_month", "month", "line_of_business"),
    )


class EnrolmentMonthCount(Base):
    """Members enrolled in a month by line of business: the count of `enrolment_months` rows, kept by triggers
    (migration 0018) in the transaction of every change of an enrolment month (the committee's member-months)."""

    __tablename__ = "enrolment_month_counts"

    month: Mapped[date] = mapped_column(Date, primary_key=True, comment="the first day of the month")
    line_of_business: Mapped[str] = mapped_column(String(16), primary_key=True)
    members: Mapped[int] = mapped_column(Integer, comment="enrolment months of that month and line")


# ----- peer-to-peer (issue 8) ---------------------------------------------------------------------------------
# A call holds its reviewer's slot from booking on (booked, then held or missed; a cancelled or moved one lets go):
# at most one such call per reviewer and start (two coordinators racing for a slot: the database lets one win), and
# at most one booked call per request. Literal SQL, the same on both engines.
P2P_SLOT_TAKEN_SQL = "status IN ('booked', 'held', 'no-show', 'plan-missed')"
P2P_BOOKED_SQL = "status = 'booked'"
P2P_OPEN_REQUEST_SQL = "status IN ('requested', 'offered', 'booked')"


class P2PAvailability(Base):
    """A reviewer's published availability in plan time (app.domain.p2p.Availability): weekly hours, one-off hours
    or an out-of-office block. Never deleted: withdrawing one sets `withdrawn_at` (with who and why); the audit trail
    has every addition and withdrawal."""

    __tablename__ = "p2p_availability"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16), comment="weekly, one-off, out-of-office")
    weekday: Mapped[int | None] = mapped_column(Integer, comment="weekly: 0 = Monday")
    first_day: Mapped[date] = mapped_column(Date, comment="plan-local day")
    last_day: Mapped[date | None] = mapped_column(Date, comment="weekly: None = open-ended; out of office: last day")
    start_time: Mapped[time | None] = mapped_column(Time, comment="plan-local wall time")
    end_time: Mapped[time | None] = mapped_column(Time, comment="plan-local wall time")
    slot_minutes: Mapped[int | None] = mapped_column(Integer, comment="length of one call")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(40))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(40))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_p2p_availability_user", "user_id", "kind"),)


class P2PRequest(Base):
    """A practitioner's request for a peer-to-peer on a case. `status` (app.domain.p2p.REQUEST_STATUSES) and the
    other changing columns are the projection of the case's p2p-* events, kept in the same transaction."""

    __tablename__ = "p2p_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20), comment="denial, potential-denial")
    status: Mapped[str] = mapped_column(String(20))
    requester_name: Mapped[str] = mapped_column(String(120))
    requester_phone: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    preferred_windows: Mapped[list] = mapped_column(JSON, default=list, comment="[{start, end}] ISO instants")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    requested_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    physician_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), comment="the physician who rendered (or will render) the determination")
    determination_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the determination discussed")
    window_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    missed_windows: Mapped[int] = mapped_column(Integer, default=0, server_default="0",
                                                comment="booked calls the practitioner missed")
    offered: Mapped[list | None] = mapped_column(JSON, comment="slot ids last offered")
    result: Mapped[str | None] = mapped_column(String(12), comment="upheld, overturned, modified")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="when the call actually took place")
    new_information: Mapped[bool] = mapped_column(default=False, comment="new clinical information: to an appeal")
    new_determination_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="overturned or modified")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    physician: Mapped[User | None] = relationship(foreign_keys=[physician_id])

    __table_args__ = (
        Index("ux_p2p_requests_open_case", "case_id", unique=True, sqlite_where=text(P2P_OPEN_REQUEST_SQL),
              postgresql_where=text(P2P_OPEN_REQUEST_SQL)),
        Index("ix_p2p_requests_case", "case_id", "requested_at"),
        Index("ix_p2p_requests_status", "status", "requested_at"),
    )


class P2PBooking(Base):
    """A call booked in a reviewer's slot. `status` (app.domain.p2p.BOOKING_STATUSES) is the projection of the
    case's p2p-* events; a cancelled or rescheduled call frees its slot (booked, held and missed ones keep it)."""

    __tablename__ = "p2p_bookings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("p2p_requests.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    availability_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the availability it was cut from")
    match: Mapped[str | None] = mapped_column(String(12), comment="deciding, same, similar, different, unknown")
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    booked_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0", comment="invitation SEQUENCE")

    request: Mapped[P2PRequest] = relationship()
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        Index("ux_p2p_bookings_slot", "reviewer_id", "starts_at", unique=True,
              sqlite_where=text(P2P_SLOT_TAKEN_SQL), postgresql_where=text(P2P_SLOT_TAKEN_SQL)),
        Index("ux_p2p_bookings_request", "request_id", unique=True, sqlite_where=text(P2P_BOOKED_SQL),
              postgresql_where=text(P2P_BOOKED_SQL)),
        Index("ix_p2p_bookings_reviewer_start", "reviewer_id", "starts_at"),
        Index("ix_p2p_bookings_case", "case_id"),
    )


# ----- appeals (issue 13) -------------------------------------------------------------------------------------
class Appeal(Base):
    """An appeal of a case's adverse determination: the projection of the case's appeal events (appeal-filed,
    appeal-reviewer-assigned, appeal-expedited-denied, appeal-extended, appeal-decided, ...), kept in the same
    transaction as the event that changes it (app.services.appeals). The events are the record."""

    __tablename__ = "appeals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    determination_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the determination appealed")
    appealed_outcome: Mapped[str] = mapped_column(String(32), comment="denied or partially-approved")
    status: Mapped[str] = mapped_column(String(20), comment="app.domain.appeals.STATUSES")
    filed_by: Mapped[str] = mapped_column(String(16), comment="member, provider, representative")
    representative: Mapped[str | None] = mapped_column(String(120), comment="the authorized representative's name")
    authorization: Mapped[str | None] = mapped_column(
        String(200), comment="where the member's written authorization (or consent) is on file")
    channel: Mapped[str] = mapped_column(String(10), comment="phone, writing, portal")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expedited: Mapped[bool] = mapped_column(default=False, comment="the current track: expedited or standard")
    expedited_requested_by: Mapped[str | None] = mapped_column(String(10), comment="member or provider")
    expedited_denied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_date: Mapped[date | None] = mapped_column(Date, comment="date of the notice appealed")
    notice_source: Mapped[str | None] = mapped_column(String(20), comment="issued-letter or notified-event")
    filing_deadline: Mapped[date | None] = mapped_column(Date)
    timely: Mapped[bool] = mapped_column(default=True)
    days_late: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    aid_paid_pending: Mapped[bool] = mapped_column(default=False, comment="the service continues during the appeal")
    continuation_requested: Mapped[bool] = mapped_column(default=False)
    continuation_deadline: Mapped[date | None] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date, comment="the termination or reduction's effective date")
    specialty: Mapped[str | None] = mapped_column(String(80), comment="the reviewer's specialty must match it")
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    rule_set: Mapped[str | None] = mapped_column(String(40), comment="appeal rule set (resources/rulesets.json)")
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="from the clock engine")
    acknowledgement_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    result: Mapped[str | None] = mapped_column(String(24), comment="upheld, overturned, partially-overturned")
    resolution_reason: Mapped[str | None] = mapped_column(Text, comment="the reason, in plain language")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    resolution_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    new_determination_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="an overturn's determination")
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="the member's NAR mailed")
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="first observed missed")
    acknowledgement_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_information: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    __table_args__ = (
        Index("ix_appeals_case", "case_id"),
        Index("ix_appeals_status_due", "status", "resolution_due_at"),
        Index("ix_appeals_due", "resolution_due_at"),  # "Appeals due" in its order, without sorting
        Index("ix_appeals_reviewer", "reviewer_id", "status"),
        Index("ix_appeals_resolved_at", "resolved_at"),
    )


class AppealTask(Base):
    """A reminder for the appeals staff (continue the authorization while the appeal runs, route the appeal, decide
    good cause). Added with the event that calls for it; done with an `appeal-task-done` event."""

    __tablename__ = "appeal_tasks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    appeal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("appeals.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32), comment="app.domain.appeals.TASK_KINDS")
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")

    appeal: Mapped[Appeal] = relationship()

    __table_args__ = (Index("ix_appeal_tasks_open", "done_at", "due_at"), Index("ix_appeal_tasks_appeal", "appeal_id"))


# ----- program oversight: inter-rater reliability (issue 14, app.services.irr) ---------------------------------
class IrrSample(Base):
    """A drawn inter-rater reliability sample: the year's (purpose 'annual') or a corrective action plan's re-audit
    ('re-audit'). Its id is derived from what was drawn (year, seed, plan), so the central store replaying the
    draw makes the same rows."""

    __tablename__ = "irr_samples"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(10), comment="annual or re-audit")
    cap_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, comment="the corrective action plan re-audited")
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by: Mapped[str] = mapped_column(String(40))
    population: Mapped[dict] = mapped_column(JSON, comment="per reviewer: decided cases and sample size")

    __table_args__ = (Index("ix_irr_samples_year", "year", "purpose"),)


class IrrItem(Base):
    """One sampled decision: the case, the determination event, its reviewer and review type, and the criteria set
    version the reviewer had applied at decision time (what the auditor walks)."""

    __tablename__ = "irr_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("irr_samples.id"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"))
    tar: Mapped[str] = mapped_column(String(20))
    determination_event_id: Mapped[uuid.UUID] = mapped_column(Uuid, comment="the sampled determination")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewer_username: Mapped[str] = mapped_column(String(40))
    review_type: Mapped[str] = mapped_column(String(24), comment="app.domain.irr_sampling.REVIEW_TYPES")
    set_id: Mapped[str | None] = mapped_column(String(64), comment="criteria set applied at decision time")
    set_version: Mapped[str | None] = mapped_column(String(20))
    set_sha256: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_irr_items_sample", "sample_id", "reviewer_username"),
                      Index("ux_irr_items_sample_case", "sample_id", "case_id", "reviewer_id", unique=True))


class IrrReview(Base):
    """An auditor's blind re-review of a sampled decision: kept apart from the case's own record (no case event).
    `submitted_at` and `determination` are set once, when the auditor submits."""

    __tablename__ = "irr_reviews"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("irr_items.id"), unique=True)
    auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    auditor_username: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    determination: Mapped[str | None] = mapped_column(String(20),
                                                      comment="app.domain.irr_rules.AUDIT_DETERMINATIONS")
    note: Mapped[str | None] = mapped_column(Text)
    comparison: Mapped[dict | None] = mapped_column(
        JSON, comment="at submission: the original and the audit determination and criterion answers")


class IrrAnswer(Base):
    """An auditor's answer to one criterion of a blind re-review. Append-only: a changed answer is a new row (the
    latest counts), and none is taken after the review is submitted."""

    __tablename__ = "irr_answers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    review_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("irr_reviews.id"))
    criterion_id: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(16), comment="met, not-met, not-applicable, unknown")
    note: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seq: Mapped[int] = mapped_column(Integer, comment="1, 2, 3 ... per review: the order of the answers")

    __table_args__ = (Index("ix_irr_answers_review", "review_id", "seq"),)


class CorrectivePlan(Base):
    """A corrective action plan for a reviewer below the agreement target: the projection of its `irr_plan_events`
    (state, actions, due date), kept in the same transaction as the event."""

    __tablename__ = "irr_plans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewer_username: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), comment="app.domain.irr_rules.CAP_STATES")
    owner_username: Mapped[str] = mapped_column(String(40))
    actions: Mapped[list] = mapped_column(JSON, comment="[{text, done_at, done_by, note}]")
    due_date: Mapped[date] = mapped_column(Date)
    agreement_at_open: Mapped[float] = mapped_column(Float, comment="the agreement (%) that opened it")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(40))
    re_audit_percent: Mapped[float | None] = mapped_column(Float, comment="the latest re-audit's agreement (%)")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_irr_plans_year", "year", "state"),)


class CorrectivePlanEvent(Base):
    """Append-only: what happened to a corrective action plan, who did it, when (triggers refuse UPDATE, DELETE)."""

    __tablename__ = "irr_plan_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("irr_plans.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(24), comment="app.domain.irr_rules.CAP_EVENTS")
    payload: Mapped[dict] = mapped_column(JSON)

    __table_args__ = (Index("ix_irr_plan_events_plan", "plan_id", "occurred_at"),)
