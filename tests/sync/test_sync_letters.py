"""Letters and sync, against a real PostgreSQL and a real server process: a letter drafted, issued and mailed
offline is the very same document on the central store (same id, same letter number, same bytes); two laptops
issuing one letter make one record and one conflict; a superseded letter's issue is a conflict; a decided case
leaves the physician's laptop with its letters; translations and a reviewer's phone go up as intents; a patched
laptop can neither issue without authority nor file a PDF of its own as a notice."""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

from sqlalchemy import func, select

from app.domain.clocks import compute_clocks
from app.domain.plantime import PLAN_TZ
from app.services import audit, letters
from app.services import cases as svc
from app.services.intents import new_mutation_id
from app.store.case_details import clock_request_of
from app.store.models import CaseEvent, CaseWorkflow, IssuedLetter, Letter, SyncConflict, SyncOutbox, User

PT = svc.CriteriaCitation("outpatient-physical-therapy", "2026.1")
REASON = "Medi-Cal does not cover this service. Your doctor can ask for other care we cover."
DENY = {"outcome": "deny", "basis": "benefit", "rationale": "Not a benefit", "member_reason": REASON,
        "criteria": [PT]}


def referred(central, *, language: str = "en") -> str:
    """A case referred to a physician, of a member with an address (a member letter needs one)."""
    tar = central.new_case(category="outpatient")
    with central.store.session() as session, session.begin():
        member = svc.case_by_tar(session, tar).member
        member.address_line, member.city, member.state, member.postal_code = ("1420 Alder Street", "Vallejo", "CA",
                                                                              "94590")
        member.language = language
    central.act(svc.claim_case, tar, "lead.patel")
    central.act(svc.refer_case, tar, "lead.patel", to="physician", summary="needs a physician")
    return tar


def letter_on(store, tar: str, recipient: str = "member") -> dict:
    with store.session() as session:
        letter = letters.find_letter(session, tar, recipient)
        issued = session.get(IssuedLetter, letter.issued_letter_id) if letter.issued_letter_id else None
        return {"id": letter.id, "ref": letters.letter_ref(letter), "status": letter.status,
                "source": letter.source_event_id, "translations": letter.translations,
                "issued_id": issued.id if issued else None, "sha256": issued.sha256 if issued else None,
                "pdf": issued.pdf if issued else None,
                "issued_by": session.get(User, issued.issued_by_id).username if issued else None}


def on_letter(store, action, letter_id, username: str, **kwargs):
    with store.session() as session, session.begin():
        return action(session, letter_id, username, **kwargs)


def member_notice(store, tar: str):
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        workflow = session.get(CaseWorkflow, case.id)
        clocks = compute_clocks(clock_request_of(case), decided=case.decided_at,
                                member_notified=workflow.member_notified_at)
        return workflow.member_notified_at, clocks


def events_of(store, tar: str) -> list[tuple]:
    with store.session() as session:
        case = svc.case_by_tar(session, tar)
        return sorted((str(i), k) for i, k in session.execute(
            select(CaseEvent.id, CaseEvent.kind).where(CaseEvent.case_id == case.id)))


def test_a_letter_decided_issued_and_mailed_offline_is_the_same_document_centrally(central, laptops):
    tar = referred(central)
    doctor = laptops("dr.shah")
    doctor.sync()
    doctor.act(svc.decide_case, tar, **DENY)  # offline: the letters are drafted here
    member = letter_on(doctor.store, tar)
    on_letter(doctor.store, letters.issue_letter, member["id"], "dr.shah")
    on_letter(doctor.store, letters.mark_mailed, member["id"], "dr.shah")
    printed = letter_on(doctor.store, tar)
    assert printed["status"] == "mailed" and printed["pdf"][:4] == b"%PDF"
    assert doctor.status()["pending"] == 3
    report = doctor.sync()
    assert (report.applied, report.conflicts) == (3, 0)
    held = letter_on(central.store, tar)
    # one letter, one id, one letter number on both sides: the central store issued the very document printed
    assert held["id"] == printed["id"] and held["ref"] == printed["ref"] and held["issued_id"] == printed["issued_id"]
    assert held["sha256"] == printed["sha256"] == hashlib.sha256(held["pdf"]).hexdigest()
    assert held["pdf"] == printed["pdf"] and held["status"] == "mailed" and held["issued_by"] == "dr.shah"
    assert letter_on(doctor.store, tar) == held  # the laptop holds the central store's copy: the same
    assert events_of(doctor.store, tar) == events_of(central.store, tar)
    sent = []
    for store in (central.store, doctor.store):
        at, clocks = member_notice(store, tar)
        assert at is not None and "member_notice" not in clocks.breached
        assert at <= clocks.member_notice_due  # the member notice clock is complete, in time
        sent.append(at)
    assert sent[0] == sent[1]
    assert central.case(tar).status == doctor.case(tar).status == "notified"
    assert audit.verify(doctor.store).ok


def test_two_laptops_issuing_the_same_letter_one_stands_the_other_is_a_conflict(central, laptops):
    central.user("coord.sync2", role="um-coordinator", team=None)
    tar = referred(central)
    central.act(svc.decide_case, tar, "dr.shah", **DENY)
    coordinators = [laptops("coord.jones"), laptops("coord.sync2")]
    for laptop in coordinators:
        laptop.sync()
        assert laptop.case(tar) is not None  # in the coordinators' letters to go out
    letter_id = letter_on(central.store, tar)["id"]
    assert all(letter_on(laptop.store, tar)["id"] == letter_id for laptop in coordinators)
    for laptop in coordinators:  # both offline, both print it
        on_letter(laptop.store, letters.issue_letter, letter_id, laptop.username)
    assert coordinators[0].sync().applied == 1
    report = coordinators[1].sync()
    assert (report.applied, report.conflicts) == (0, 1)
    with central.store.session() as session:
        assert session.scalar(select(func.count()).select_from(IssuedLetter)
                              .where(IssuedLetter.letter_id == letter_id)) == 1
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert (conflict.intent, conflict.kind, conflict.actor) == ("issue-letter", "concurrent", "coord.sync2")
        assert conflict.payload["sha256"] and conflict.payload["pdf"]  # the second print is kept with the conflict
        mine = conflict.mine
    from app.ui.sync_ui import _describe

    shown = _describe(mine)  # the Conflicts view names the printed letter instead of showing its bytes
    assert "the letter as printed" in shown and len(shown) < 3000
    record = letter_on(central.store, tar)
    assert record["issued_by"] == "coord.jones"
    # the second laptop now holds the record (the central store's issued letter), not its own print
    assert letter_on(coordinators[1].store, tar) == record
    assert coordinators[1].status()["conflicts"] == 1
    assert audit.verify(coordinators[1].store).ok


def test_issuing_a_letter_that_was_superseded_meanwhile_is_a_conflict(central, laptops):
    tar = referred(central)
    central.act(svc.decide_case, tar, "dr.shah", **DENY)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    old = letter_on(coordinator.store, tar)
    on_letter(coordinator.store, letters.issue_letter, old["id"], "coord.jones")
    # meanwhile a peer-to-peer call reopens the case and the physician approves: the denial letters are superseded
    central.act(svc.reopen_case, tar, "dr.shah", reason="peer-to-peer", note="new imaging reviewed on the call")
    central.act(svc.decide_case, tar, "dr.shah", outcome="approve", rationale="meets criteria after P2P")
    report = coordinator.sync()
    assert report.conflicts == 1
    with central.store.session() as session:
        assert session.get(Letter, old["id"]).status == "superseded"
        assert session.scalar(select(func.count()).select_from(IssuedLetter)
                              .where(IssuedLetter.letter_id == old["id"])) == 0
        assert session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one().intent == "issue-letter"
    with coordinator.store.session() as session:  # the laptop's print went with the central copy
        assert session.get(Letter, old["id"]).status == "superseded"
        assert session.scalar(select(func.count()).select_from(IssuedLetter)
                              .where(IssuedLetter.letter_id == old["id"])) == 0


def test_a_decided_case_leaves_the_physicians_laptop_with_its_letters(central, laptops):
    tar = referred(central)
    doctor = laptops("dr.shah")
    doctor.sync()
    doctor.act(svc.decide_case, tar, **DENY)
    on_letter(doctor.store, letters.issue_letter, letter_on(doctor.store, tar)["id"], "dr.shah")  # printed here
    doctor.sync()
    case_id = doctor.case(tar).id
    with doctor.store.session() as session:
        assert session.scalar(select(func.count()).select_from(IssuedLetter)
                              .where(IssuedLetter.case_id == case_id)) == 1
    # on the central store the coordinator mails the member letter, faxes the provider's, and the case is closed
    on_letter(central.store, letters.mark_mailed, letter_on(central.store, tar)["id"], "coord.jones")
    on_letter(central.store, letters.issue_letter, letter_on(central.store, tar, "provider")["id"], "coord.jones")
    central.act(letters.notify_provider, tar, "coord.jones", method="fax")
    central.act(svc.close_case, tar, "dr.shah")
    report = doctor.sync()
    assert doctor.case(tar) is None and report.removed >= 1
    with doctor.store.session() as session:
        for model in (Letter, IssuedLetter):
            assert session.scalar(select(func.count()).select_from(model).where(model.case_id == case_id)) == 0
    assert audit.verify(doctor.store).ok


def test_a_translation_and_a_reviewers_phone_go_up_as_intents(central, laptops):
    tar = referred(central, language="es")
    central.act(svc.decide_case, tar, "dr.shah", **DENY)
    coordinator = laptops("coord.jones")
    coordinator.sync()
    letter = letter_on(coordinator.store, tar)
    assert letter["status"] == "translation-needed"
    with coordinator.store.session() as session:
        needed = letters.translation_sources(session, letter["id"])
    texts = {key: (["Ejercicio terapéutico"] * len(value) if isinstance(value, list) else
                   "Medi-Cal no cubre este servicio. Su médico puede pedir otra atención que cubrimos.")
             for key, value in needed.items()}
    on_letter(coordinator.store, letters.add_translation, letter["id"], "coord.jones", texts=texts)
    on_letter(coordinator.store, letters.issue_letter, letter["id"], "coord.jones")
    admin = laptops("admin")
    admin.sync()
    with admin.store.session() as session, session.begin():
        letters.set_user_phone(session, "admin", "dr.morales", "1-707-555-0199")
    assert coordinator.sync().applied == 2 and admin.sync().applied == 1
    held, printed = letter_on(central.store, tar), letter_on(coordinator.store, tar)
    assert held["translations"] == printed["translations"] == texts and held["sha256"] == printed["sha256"]
    with central.store.session() as session:
        assert session.scalar(select(User.phone).where(User.username == "dr.morales")) == "1-707-555-0199"
    coordinator.sync()
    with coordinator.store.session() as session:  # other laptops receive the new phone number
        assert session.scalar(select(User.phone).where(User.username == "dr.morales")) == "1-707-555-0199"


def forged(laptop, tar: str, letter_id, intent: str, payload: dict) -> None:
    """An outbox row no service of ours would write (a patched laptop)."""
    with laptop.store.session() as session, session.begin():
        case = svc.case_by_tar(session, tar)
        letter = session.get(Letter, letter_id)
        seq = (session.scalar(select(func.max(SyncOutbox.seq))) or 0) + 1
        session.add(SyncOutbox(mutation_id=new_mutation_id(), device_id=audit.device_id(session), seq=seq,
                               case_id=case.id, tar=tar, base_version=case.version, intent=intent,
                               actor=laptop.username, payload={"letter": letters.letter_key(letter), **payload},
                               created_at=datetime.now(timezone.utc), state="pending"))


def test_a_patched_laptop_can_neither_issue_without_authority_nor_file_a_letter_of_its_own(central, laptops):
    tar = referred(central)
    central.act(svc.decide_case, tar, "dr.shah", **DENY)
    auditor, coordinator = laptops("auditor.brown"), laptops("coord.jones")
    for laptop in (auditor, coordinator):
        laptop.sync()
    letter_id = letter_on(central.store, tar)["id"]
    today = {"$date": datetime.now(timezone.utc).astimezone(PLAN_TZ).date().isoformat()}
    fake = b"%PDF-1.4 a letter that says something else"
    forged(auditor, tar, letter_id, "issue-letter", {"notice_date": today, "acknowledge_reading_level": False,
                                                     "sha256": hashlib.sha256(fake).hexdigest(),
                                                     "pdf": base64.b64encode(fake).decode()})
    forged(coordinator, tar, letter_id, "issue-letter", {"notice_date": today, "acknowledge_reading_level": False,
                                                         "sha256": hashlib.sha256(fake).hexdigest(),
                                                         "pdf": base64.b64encode(fake).decode()})
    assert auditor.sync().conflicts == 1 and coordinator.sync().conflicts == 1
    with central.store.session() as session:
        reasons = {c.actor: (c.kind, c.reason) for c in session.scalars(select(SyncConflict)
                                                                          .where(SyncConflict.tar == tar))}
        assert session.scalar(select(func.count()).select_from(IssuedLetter)
                              .where(IssuedLetter.letter_id == letter_id)) == 0
    assert reasons["auditor.brown"][0] == "refused" and "UM coordinator" in reasons["auditor.brown"][1]
    assert reasons["coord.jones"][0] == "refused" and "as it was printed" in reasons["coord.jones"][1]
    assert letter_on(central.store, tar)["status"] == "draft"
