"""The payload of the `receive` intent (app.services.intents): a new request as JSON, and back.

`receive_case` takes a NewCase holding a Member row and the acting User (or None: the system), which are not JSON;
the payload carries the member's fields (the server adds the member if it does not hold it yet), the providers'
ids, the lines and diagnoses, and the case id the laptop gave the case.
"""
from __future__ import annotations

import dataclasses
import inspect

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.intents import Call, decode, encode

MEMBER_FIELDS = ("id", "cin", "first_name", "last_name", "birth_date", "sex", "language", "alternative_format",
                 "address_line", "city", "state", "postal_code", "county", "phone")
SYSTEM = "system"


def to_call(bound: inspect.BoundArguments) -> Call:
    new, actor = bound.arguments["new"], bound.arguments.get("actor")
    fields = {f.name: getattr(new, f.name) for f in dataclasses.fields(new) if f.name not in ("member", "lines")}
    payload = {key: encode(value) for key, value in fields.items()}
    payload["member"] = {name: encode(getattr(new.member, name)) for name in MEMBER_FIELDS}
    payload["lines"] = [{"code": line.code, "description": line.description, "units": line.units,
                         "from_date": encode(line.from_date), "to_date": encode(line.to_date)} for line in new.lines]
    payload["diagnoses"] = [list(pair) for pair in new.diagnoses]
    return Call(new.tar, actor.username if actor is not None else SYSTEM, payload, new.received_at)


def from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    from app.services.cases import NewCase, NewLine, NotFound
    from app.store.models import Member, User

    payload = call.payload
    member_fields = {name: decode(value) for name, value in payload["member"].items()}
    member = session.get(Member, member_fields["id"]) or session.scalar(
        select(Member).where(Member.cin == member_fields["cin"]))
    if member is None:
        member = Member(**member_fields)
        session.add(member)
    lines = [NewLine(line["code"], line["description"], line["units"], decode(line["from_date"]),
                     decode(line["to_date"])) for line in payload["lines"]]
    values = {key: decode(value) for key, value in payload.items() if key not in ("member", "lines", "diagnoses")}
    values["diagnoses"] = [tuple(pair) for pair in payload["diagnoses"]]
    actor = None
    if call.actor != SYSTEM:
        actor = session.scalar(select(User).where(User.username == call.actor))
        if actor is None:
            raise NotFound(f"No user '{call.actor}' in this store.")
    return (NewCase(member=member, lines=lines, **values), actor), {}

