"""`umws case documents TAR` and `umws case document TAR DOCUMENT --out FILE`: a case's intake documents (the faxed
and scanned files attached at intake) and a copy of one (app.services.documents). The file comes from this
computer when it holds it, else from the central store (directly with --database-url, or downloaded by an enrolled
laptop from the sync server, which refuses a case outside the user's queues). Each is audited as a view of the
case: under --as USER, else under the operating-system user (like `umws case show`).
Exit codes: 0 done, 2 an unknown case or document (nothing written), 3 refused (the user may not see the case),
1 the file is not reachable now (offline: sync when online to fetch it).

The copy is written to a temporary file beside FILE (readable by this user only) and renamed to FILE once it is
whole, so a failure (the download, a full disk, Ctrl+C) never leaves a partial FILE, and a FILE that was there
stays as it was. A FILE that is not a regular file (/dev/stdout, a pipe) is written directly.
"""
from __future__ import annotations

import argparse
import os
import stat
import tempfile
from pathlib import Path

from app.cli import (EXIT_BAD_INPUT, EXIT_REFUSED, EXIT_UNEXPECTED, CliError, add_store_option, open_store_for,
                     print_json, warn)
from app.domain.plantime import format_instant


def register(actions) -> None:
    listing = actions.add_parser("documents", help="the case's intake documents and where their files are")
    listing.add_argument("tar", help="TAR number")
    listing.add_argument("--as", dest="actor", default=None, metavar="USER",
                         help="reading user (default: the operating-system user)")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    add_store_option(listing)
    listing.set_defaults(handler=run_documents)

    one = actions.add_parser("document", help="write a copy of one of the case's documents to a file")
    one.add_argument("tar", help="TAR number")
    one.add_argument("document", help="the document's id or file name (see 'umws case documents TAR')")
    one.add_argument("--out", "-o", required=True, metavar="FILE", help="where to write the copy")
    one.add_argument("--as", dest="actor", default=None, metavar="USER",
                     help="reading user (default: the operating-system user)")
    one.add_argument("--json", action="store_true", help="print one JSON object about the copy written")
    add_store_option(one)
    one.set_defaults(handler=run_document)


def _where(info) -> str:
    if info.here and info.central:
        return "here and on the central store"
    if info.here:
        return "here only"
    if info.central:
        return "on the central store"
    return "on the receiving laptop only"


def run_documents(args: argparse.Namespace) -> int:
    from app.services import audit
    from app.services.cases import ActionRefused, NotFound, _acting_user, case_by_tar
    from app.services.documents import list_documents

    store = open_store_for(args)
    try:
        with store.session() as session, session.begin():
            if args.actor:
                _acting_user(session, args.actor)
            case = case_by_tar(session, args.tar)
            infos = list_documents(session, args.tar)
            audit.record_view(session, actor=args.actor or audit.os_user(),
                              actor_kind="user" if args.actor else "os-user", what="case", case_id=case.id,
                              tar=case.tar, details={"via": "umws case documents", "count": len(infos)})
    except NotFound as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, audit.AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    finally:
        store.close()
    if args.json:
        print_json([{"tar": args.tar, **info.to_json()} for info in infos])
    elif not infos:
        warn(f"TAR {args.tar} has no intake documents.")
    else:
        for info in infos:
            print(f"{info.file_name[:40]:<40} {info.pages:>3} p  {info.media_type:<16} "
                  f"received {format_instant(info.received_at, year=True):<26} by {info.attached_by or '?':<16} "
                  f"{_where(info)}  {info.id}")
    return 0


def run_document(args: argparse.Namespace) -> int:
    from app.services.audit import AuditChainError
    from app.services.cases import ActionRefused, InvalidInput, NotFound
    from app.services.documents import Unavailable, open_document
    from app.sync.client import document_fetcher

    store = open_store_for(args)
    try:
        opened = open_document(store, args.tar, args.document, args.actor, fetch=document_fetcher(store),
                               via="umws case document")
    except (NotFound, InvalidInput) as error:
        raise CliError(str(error), EXIT_BAD_INPUT) from error
    except (ActionRefused, AuditChainError) as error:
        raise CliError(str(error), EXIT_REFUSED) from error
    except Unavailable as error:
        raise CliError(str(error), EXIT_UNEXPECTED) from error
    finally:
        store.close()
    target = Path(args.out)
    try:
        write_whole(target, opened.content)
    except OSError as error:
        raise CliError(f"cannot write {target}: {error.strerror or error}; nothing was written there",
                       EXIT_BAD_INPUT) from error
    if args.json:
        print_json({"tar": args.tar, "document": opened.document.to_json(), "source": opened.source,
                    "out": str(target), "size_bytes": len(opened.content)})
    warn(f"Wrote '{opened.document.file_name}' of TAR {args.tar} ({opened.document.pages} page(s), "
         f"{len(opened.content):,} bytes, from {opened.source}) to {target}.")
    return 0


def write_whole(target: Path, content: bytes) -> None:
    """`content` in `target`, all of it or none of it (see the module docstring)."""
    try:
        special = not stat.S_ISREG(os.stat(target).st_mode)
    except FileNotFoundError:
        special = False
    if special:
        with open(target, "wb") as handle:
            handle.write(content)
        return
    descriptor, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except BaseException:
        try:
            os.unlink(part)
        except OSError:
            pass
        raise
