"""A request entered offline that the central store refused (a conflict about a request it never made) is resolved
like any conflict (app.services.conflicts, `request_not_made`): on the laptop or centrally, by the GUI or the CLI.
Keep mine makes it now with the laptop's ids, keep theirs leaves it unmade with the conflict keeping it, reassign
is refused. Against a real PostgreSQL and a real server process."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from app.cli import main
from app.services import audit, conflicts as conflict_svc
from app.services.cases import ActionRefused
from app.store.models import AuditRecord, Case, CaseEvent, SyncConflict, SyncOutbox, User
from tests.sync.test_sync_intake import cin_prefix, form_draft, save


def set_role(central, username: str, role: str) -> None:
    with central.store.session() as session, session.begin():
        session.execute(update(User).where(User.username == username).values(role=role))


@pytest.fixture
def refused(central, laptops):
    """(the coordinator's laptop, the TAR and case id its request had there, the conflict's id): the request was
    entered offline and refused centrally, because the coordinator had meanwhile been made an auditor there."""
    coordinator = laptops("coord.jones")
    coordinator.sync()
    tar = save(coordinator, form_draft(f"{cin_prefix()}R")).tar
    return (coordinator, tar, *refuse(central, coordinator, tar))


def refuse(central, coordinator, tar: str) -> tuple:
    """(case id, conflict id) once `tar`, entered offline on `coordinator`, was refused centrally."""
    case_id = coordinator.case(tar).id
    set_role(central, "coord.jones", "auditor")
    try:
        report = coordinator.sync()
    finally:
        set_role(central, "coord.jones", "um-coordinator")
    assert report.conflicts == 1
    coordinator.sync()  # the laptop learns the role is back
    assert coordinator.case(tar) is None  # the laptop let its copy go: the conflict keeps the request
    with coordinator.store.session() as session:
        conflict = session.scalars(select(SyncConflict).where(SyncConflict.tar == tar)).one()
        assert conflict.kind == "refused" and "Auditor" in conflict.reason and conflict.case_id == case_id
        assert conflict_svc.conflict_json(conflict)["request_not_made"]
        return case_id, str(conflict.id)


def central_conflict(central, conflict_id: str) -> SyncConflict:
    with central.store.session() as session:
        return session.get(SyncConflict, conflict_id)


def test_keep_mine_on_the_laptop_makes_the_request_centrally_with_the_laptops_ids(central, refused):
    coordinator, tar, case_id, conflict_id = refused
    with coordinator.store.session() as session, session.begin():
        made = conflict_svc.resolve_conflict(session, tar, "coord.jones", conflict_id=conflict_id,
                                             resolution="keep-mine", note="role restored")
        assert made.id == case_id and made.tar == tar
    report = coordinator.sync()
    assert (report.applied + report.merged, report.conflicts) == (1, 0)
    with central.store.session() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.tar == tar and case.status in ("received", "pended")
        kinds = set(session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)))
        assert {"received", "intake-assessed", "conflict-resolved"} <= kinds
    assert central_conflict(central, conflict_id).resolution == "keep-mine"
    with coordinator.store.session() as session:
        assert session.scalar(select(SyncOutbox.state).where(SyncOutbox.intent == "resolve-conflict")) != "pending"
        local = sorted((str(e.id), e.kind) for e in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case_id)))
    with central.store.session() as session:
        there = sorted((str(e.id), e.kind) for e in session.scalars(select(CaseEvent).where(
            CaseEvent.case_id == case_id)))
    assert local == there  # one request, the same rows on both
    assert coordinator.sync().pushed == 0
    assert audit.verify(coordinator.store).ok


def test_keep_theirs_on_the_laptop_leaves_the_request_unmade_and_says_so(central, refused):
    coordinator, tar, case_id, conflict_id = refused
    with coordinator.store.session() as session, session.begin():
        assert conflict_svc.resolve_conflict(session, tar, "coord.jones", conflict_id=conflict_id,
                                             resolution="keep-theirs") is None
    report = coordinator.sync()
    assert (report.applied + report.merged, report.conflicts) == (1, 0)
    conflict = central_conflict(central, conflict_id)
    assert (conflict.resolution, conflict.resolved_by) == ("keep-theirs", "coord.jones")
    with central.store.session() as session:
        assert session.get(Case, case_id) is None
        said = session.scalars(select(AuditRecord.body).where(AuditRecord.case_id == case_id,
                                                             AuditRecord.what == "sync-conflict")).all()
        said = [json.loads(body) for body in said]
        assert any(json.dumps(body).count('"keep-theirs"') and '"made": false' in json.dumps(body) for body in said), said
    assert coordinator.case(tar) is None and coordinator.status()["conflicts"] == 0
    assert audit.verify(coordinator.store).ok


def test_a_supervisor_resolves_it_centrally_from_the_command_line(central, central_url, refused, capsys):
    coordinator, tar, case_id, conflict_id = refused
    on_central = ["--database-url", central_url]
    assert main(["conflicts", "show", conflict_id, *on_central]) == 0
    shown = capsys.readouterr().out
    assert "Requested by: Chidi Okoro, MD (NPI 1234567893)" in shown and "never made this request" in shown, shown
    assert main(["conflicts", "resolve", conflict_id, "--as", "lead.patel", "--reassign-to", "nurse.nguyen",
                 *on_central]) == 3
    assert "never made" in capsys.readouterr().err
    assert central_conflict(central, conflict_id).resolved_at is None  # nothing written
    assert main(["conflicts", "resolve", conflict_id, "--as", "lead.patel", "--keep", "mine", "--json",
                 *on_central]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tar"] == tar and result["request_made"] and result["resolution"] == "keep-mine"
    coordinator.sync()
    assert coordinator.case(tar).id == case_id  # the central case comes down to the laptop it was entered on
    assert coordinator.status()["conflicts"] == 0


def test_keep_mine_is_refused_while_the_rules_still_refuse_the_request(central, refused):
    coordinator, tar, case_id, conflict_id = refused
    set_role(central, "coord.jones", "auditor")
    try:
        with central.store.session() as session, session.begin():
            with pytest.raises(ActionRefused, match="cannot be made now: An Auditor does not enter requests"):
                conflict_svc.resolve_conflict(session, tar, "lead.patel", conflict_id=conflict_id,
                                              resolution="keep-mine")
    finally:
        set_role(central, "coord.jones", "um-coordinator")
    assert central_conflict(central, conflict_id).resolved_at is None
    with central.store.session() as session:
        assert session.get(Case, case_id) is None


def test_the_conflicts_window_offers_no_reassignment_for_a_request_never_made(qtbot, refused):
    from app.store.worklist import viewer_for
    from app.ui.sync_ui import ConflictsDialog

    coordinator, tar, case_id, conflict_id = refused
    with coordinator.store.session() as session:
        viewer = viewer_for(session, "coord.jones")
    dialog = ConflictsDialog(coordinator.store, viewer)
    qtbot.addWidget(dialog)
    dialog.load()
    dialog.table.selectRow([row["id"] for row in dialog.rows].index(conflict_id))  # (others' tests leave theirs)
    assert dialog.current()["id"] == conflict_id
    assert not dialog.reassign.isEnabled() and dialog.keep_mine.isEnabled()
    assert "never made this request" in dialog.theirs.toPlainText()
    mine = dialog.mine.toPlainText()  # the request in words, not its encoding
    assert "Member: Dup Licate (CIN " in mine and "Service: 97110 Therapeutic exercise × 6" in mine, mine
    assert "Diagnosis: M54.50 Low back pain" in mine and "$type" not in mine
    assert dialog.resolve("keep-mine", confirm=False), dialog.__dict__.get("last_error")
    assert coordinator.case(tar).id == case_id and conflict_id not in [row["id"] for row in dialog.rows]


def test_keep_mine_of_a_faxed_request_sends_its_documents_files_up(central, laptops, tmp_path):
    from tests.sync.test_sync_documents import central_file, document_rows, fax_request

    coordinator = laptops("coord.jones")
    coordinator.sync()
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf", "scan.tif")
    case_id, conflict_id = refuse(central, coordinator, tar)
    with coordinator.store.session() as session, session.begin():
        conflict_svc.resolve_conflict(session, tar, "coord.jones", conflict_id=conflict_id, resolution="keep-mine")
    report = coordinator.sync()
    assert report.conflicts == 0 and report.warnings == [], report
    coordinator.sync()
    rows = document_rows(central.store, tar)
    assert sorted(row.file_name for row in rows) == ["fax.pdf", "scan.tif"]
    assert all(row.case_id == case_id for row in rows)
    for row in rows:  # byte for byte, from the laptop's processed folder
        assert central_file(central.store, row.sha256) == contents[row.file_name]
    assert coordinator.status()["pending"] == 0


def test_keep_mine_of_a_faxed_request_on_the_central_store_gets_its_files_from_the_laptop(central, laptops,
                                                                                          tmp_path):
    from tests.sync.test_sync_documents import central_file, document_rows, fax_request

    coordinator = laptops("coord.jones")
    coordinator.sync()
    tar, contents = fax_request(tmp_path, coordinator, "fax.pdf")
    case_id, conflict_id = refuse(central, coordinator, tar)
    with central.store.session() as session, session.begin():
        conflict_svc.resolve_conflict(session, tar, "lead.patel", conflict_id=conflict_id, resolution="keep-mine")
    [row] = document_rows(central.store, tar)
    assert central_file(central.store, row.sha256) is None  # the file is on the laptop that scanned it
    report = coordinator.sync()
    coordinator.sync()
    assert central_file(central.store, row.sha256) == contents["fax.pdf"], report


@pytest.mark.parametrize("resolution", ["keep-mine", "keep-both"])
def test_keeping_a_request_already_received_centrally_makes_nothing_twice(central, resolution):
    """A `concurrent` conflict of a change that makes a case (push.py: "already received on the central store"):
    the request is there, so keeping the laptop's is refused and keep theirs resolves it."""
    import uuid

    tar = central.new_case()
    with central.store.session() as session, session.begin():
        case = session.scalar(select(Case).where(Case.tar == tar))
        conflict = SyncConflict(mutation_id=uuid.uuid4(), device_id=uuid.uuid4(), seq=1, case_id=case.id, tar=tar,
                                intent="receive", payload={"tar": tar}, actor="coord.jones", kind="concurrent",
                                reason=f"TAR {tar} was already received on the central store.",
                                mine={}, theirs={"case": {"status": case.status}})
        session.add(conflict)
        session.flush()
        conflict_id, case_id = str(conflict.id), case.id
    with central.store.session() as session, session.begin():
        with pytest.raises(ActionRefused, match="already on the central store") as refused:
            conflict_svc.resolve_conflict(session, tar, "lead.patel", conflict_id=conflict_id, resolution=resolution)
        assert refused.value.kind == "state"
    with central.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.id == case_id)) == 1
        assert session.get(SyncConflict, uuid.UUID(conflict_id)).resolved_at is None
    with central.store.session() as session, session.begin():
        conflict_svc.resolve_conflict(session, tar, "lead.patel", conflict_id=conflict_id, resolution="keep-theirs")
    assert central_conflict(central, conflict_id).resolution == "keep-theirs"
