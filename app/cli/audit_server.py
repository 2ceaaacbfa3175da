"""`umws audit verify --server [URL]`: this laptop's chain here, the server's copy of it, and the merged log.

A hash chain alone cannot show a trail rewritten from some record to the end (docs/workflow.md, "Audit trail");
the copy the central store received before can: the record the server holds last for this device must be the
same record here. The merged log (every laptop's chain and the central store's own) is verified on the server;
its full report goes to auditors, supervisors and administrators.
"""
from __future__ import annotations

import argparse

from sqlalchemy import select

from app.cli import EXIT_REFUSED, EXIT_UNEXPECTED, CliError, open_store_for, print_json
from app.services import audit
from app.store.models import AuditRecord


def check(store, server: str | None = None) -> dict:
    """{"ok", "local", "server_copy": {device_id, audit_seq, matches}, "merged"}; SyncError when unreachable."""
    from app.sync import client

    local = audit.verify(store)
    api, _ = client._api(store, server or None, None, None)
    with api:
        answer = api.verify()
    seq = answer["audit_seq"]
    with store.session() as session:
        here = session.scalar(select(AuditRecord.hash).where(AuditRecord.device_id == audit.device_id(session),
                                                             AuditRecord.seq == seq)) if seq else None
    copy_ok = seq == 0 or here == answer["audit_hash"]
    merged = answer.get("report")
    return {"ok": local.ok and copy_ok and (merged is None or merged["ok"]), "local": local.to_json(),
            "server_copy": {"device_id": answer["device_id"], "audit_seq": seq, "matches": copy_ok},
            "merged": merged}


def run_verify_server(args: argparse.Namespace) -> int:
    from app.sync.api import Offline, SyncError

    store = open_store_for(args)
    try:
        result = check(store, args.server)
    except SyncError as error:
        raise CliError(str(error), EXIT_UNEXPECTED if isinstance(error, Offline) else EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json(result)
    local, copy, merged = result["local"], result["server_copy"], result["merged"]
    if not local["ok"]:
        raise CliError(f"this laptop's audit trail is broken: {local['problem']['message']}", EXIT_REFUSED)
    if not copy["matches"]:
        raise CliError(f"record {copy['audit_seq']} of this laptop's chain differs from the copy the server "
                       "received: the trail here was rewritten after it was uploaded. Tell the administrator.",
                       EXIT_REFUSED)
    if merged is not None and not merged["ok"]:
        raise CliError(f"the merged audit log on the server is broken: {merged['problem']['message']}", EXIT_REFUSED)
    if not args.json:
        scope = (f"the merged log ({merged['records']} records in {len(merged['chains'])} chains) verifies"
                 if merged is not None else "the merged log is checked by auditors and supervisors")
        print(f"Audit trail intact here ({local['records']} records); the server's copy of this laptop's chain "
              f"matches up to record {copy['audit_seq']}; {scope}.")
    return 0
