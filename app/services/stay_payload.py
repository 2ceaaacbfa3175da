"""The payload of the `stay-admit` intent (app.services.intents): an admission as JSON, and back.

`admit_stay` takes a NewStay holding a Member row, and (inside a transfer) the Stay the new one continues, which
are not JSON: the payload carries the member's fields (the server adds the member if it does not hold it yet, as
`receive` does: app.services.receive_payload), the providers' ids, the diagnoses, the TAR the laptop gave the
admission (`tar`: the central store may give it a number of its own, app.server.push) and the stay continued.
"""
from __future__ import annotations

import dataclasses
import inspect

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.services.intents import Call, decode, encode
from app.services.receive_payload import MEMBER_FIELDS, SYSTEM


def to_call(bound: inspect.BoundArguments) -> Call:
    new, username = bound.arguments["new"], bound.arguments.get("username")
    payload = {f.name: encode(getattr(new, f.name)) for f in dataclasses.fields(new)
               if f.name not in ("member", "diagnoses")}
    payload["member"] = {name: encode(getattr(new.member, name)) for name in MEMBER_FIELDS}
    payload["diagnoses"] = [list(pair) for pair in new.diagnoses]
    continued = bound.arguments.get("transferred_from")
    payload["transferred_from_id"] = str(continued.id) if continued is not None else None
    return Call(new.tar, username or SYSTEM, payload, bound.arguments.get("at"))


def from_call(session: Session, call: Call) -> tuple[tuple, dict]:
    import uuid

    from app.services.stays import NewStay
    from app.store.models import Member, Stay

    payload = call.payload
    member_fields = {name: decode(value) for name, value in payload["member"].items()}
    member = session.get(Member, member_fields["id"]) or session.scalar(
        select(Member).where(Member.cin == member_fields["cin"]))
    if member is None:
        member = Member(**member_fields)
        session.add(member)
    values = {key: decode(value) for key, value in payload.items()
              if key not in ("member", "diagnoses", "transferred_from_id")}
    values["diagnoses"] = [tuple(pair) for pair in payload["diagnoses"]]
    continued = None
    if payload.get("transferred_from_id"):
        continued = session.get(Stay, uuid.UUID(payload["transferred_from_id"]))
    return (NewStay(member=member, **values), None if call.actor == SYSTEM else call.actor), \
        {"transferred_from": continued}
