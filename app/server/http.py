"""The sync service's HTTP routes (Starlette on uvicorn; issue 9). JSON in, JSON out.

Every request says its protocol and schema versions first (headers X-Umws-Protocol, X-Umws-Schema); one the
server cannot serve is answered 409 with words saying who must update, and nothing else happens. Then the token
(Authorization: Bearer ...) and the device (X-Umws-Device), then the device's clock (X-Umws-Device-Time).

    POST /v1/hello           versions and the server's time (no sign-in needed)
    POST /v1/login           {username, password, device_id, device_name} -> token
    POST /v1/push            {mutations: [...], audit: [...]} -> each change's outcome
    POST /v1/pull            {cursor, after_id?, full_cursor?, refresh: [case ids]} -> one page
    POST /v1/audit/verify    the merged log's verification, and this device's chain as the server holds it
    POST /v1/documents/missing  {sha256: [...]} -> which files the central store holds, lacks, does not know
    PUT  /v1/documents/{sha256} a document's file, the raw bytes (application/octet-stream) -> stored or not
    POST /v1/documents/fetch    {document_id} -> the file's bytes (app.server.documents)

Errors: {"error": code, "message": words}; 400 bad input, 401 sign in again, 403 refused (revoked device,
authority), 404 unknown, 409 versions, 413 too large, 422 a file whose bytes are not its SHA-256, 500 unexpected
(the log has the details; the client keeps its changes).
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.server import MIN_PROTOCOL, PROTOCOL, accounts, chains, documents, pull, push
from app.store import migrate
from app.store.models import utcnow

log = logging.getLogger("umws.server")
RETRIES = 3


class BadRequest(Exception):
    pass


def versions_problem(protocol: str | None, schema: str | None, server_schema: str) -> str | None:
    """Words for a client whose versions this server cannot serve (None: it can)."""
    try:
        number = int(protocol or "0")
    except ValueError:
        number = 0
    if number < MIN_PROTOCOL or (schema and schema != server_schema and _older(schema, server_schema)):
        return ("This workstation is older than the sync server (protocol "
                f"{number}, schema {schema}; the server speaks {MIN_PROTOCOL}-{PROTOCOL}, schema {server_schema}). "
                "Install the current version of the workstation, then sync again. Nothing was sent; your changes "
                "wait on this laptop.")
    if number > PROTOCOL or (schema and schema != server_schema):
        return (f"The sync server runs an older version of the workstation (schema {server_schema}, protocol "
                f"{PROTOCOL}) than this laptop (schema {schema}, protocol {number}). Ask the administrator to update "
                "the server. Nothing was sent; your changes wait on this laptop.")
    return None


def _older(client: str, server: str) -> bool:
    """Whether `client` is an ancestor of `server` in the migration chain this server knows."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate._config())
    try:
        return any(rev.revision == client for rev in script.iterate_revisions(server, "base"))
    except Exception:  # noqa: BLE001 - an id this server does not know: the client is newer
        return False


def create_app(store, *, token_hours: int = accounts.DEFAULT_TOKEN_HOURS) -> Starlette:
    schema = migrate.current_revision(store.engine)

    def error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse({"error": code, "message": message}, status_code=status)

    def guarded(handler, *, signed_in: bool = True, raw: bool = False):
        """`handler(session, caller, body)`; with `raw`, body is {"bytes": the request's body, "path": its path
        parameters} (a document's file). A handler returns a dict (JSON) or a Response of its own."""
        async def endpoint(request: Request):
            problem = versions_problem(request.headers.get("x-umws-protocol"), request.headers.get("x-umws-schema"),
                                       schema)
            if problem:
                return error(409, "version", problem)
            if raw:
                try:
                    length = int(request.headers.get("content-length") or 0)
                except ValueError:
                    length = 0
                if length > documents.MAX_BYTES:
                    return error(413, "too-large", f"The file is {length:,} bytes; the central store takes "
                                                   f"documents up to {documents.MAX_BYTES:,} bytes.")
                body = {"bytes": await request.body(), "path": dict(request.path_params)}
            else:
                try:
                    body = await request.json() if request.method == "POST" else {}
                except ValueError:
                    return error(400, "bad-json", "The request is not JSON.")
            from starlette.concurrency import run_in_threadpool

            return await run_in_threadpool(_run, handler, request, body, signed_in)

        return endpoint

    def _run(handler, request: Request, body: dict, signed_in: bool):
        for attempt in range(RETRIES):
            try:
                with store.session() as session, session.begin():
                    caller = None
                    clock = None
                    if signed_in:
                        token = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
                        caller = accounts.authenticate(session, token, request.headers.get("x-umws-device"))
                        clock = accounts.check_clock(session, caller, _device_time(request))
                    result = handler(session, caller, body)
                    if isinstance(result, Response):
                        return result
                    if clock:
                        result["clock"] = clock
                return JSONResponse(result)
            except accounts.AccessRefused as refused:
                return error(refused.status, refused.code, str(refused))
            except chains.ChainRefused as refused:
                return error(422, "audit-chain", str(refused))
            except (BadRequest, KeyError, TypeError, ValueError) as bad:
                return error(400, "bad-request", f"The request is not what the server expects: {bad}")
            except OperationalError as failure:  # a deadlock or serialization failure: try again
                if attempt + 1 < RETRIES and _retryable(failure):
                    log.info("retrying after %s", type(failure.orig).__name__)
                    continue
                log.exception("request failed")
                return error(503, "busy", "The central store is busy; the laptop will try again.")
            except DBAPIError:
                log.exception("request failed")
                return error(500, "unexpected", "The server could not finish; nothing of this request was kept. "
                                                "The laptop keeps its changes and will try again.")
        return error(503, "busy", "The central store is busy; the laptop will try again.")

    def hello(session, caller, body):
        return {"protocol": PROTOCOL, "min_protocol": MIN_PROTOCOL, "schema": schema,
                "server_time": utcnow().isoformat()}

    def do_push(session, caller, body):
        audit_seq = chains.receive(session, caller.device, body.get("audit") or [])
        result = push.push(session, caller, body.get("mutations") or [])
        result["audit_seq"] = audit_seq
        return result

    def do_pull(session, caller, body):
        cursor = body.get("cursor")
        return pull.pull(session, caller, cursor=int(cursor) if cursor is not None else None,
                         after_id=body.get("after_id"),
                         full_cursor=body.get("full_cursor"), refresh=body.get("refresh") or [])

    def do_verify(session, caller, body):
        from app.services import audit

        seq = caller.device.audit_seq
        everyone = caller.user.role in ("auditor", "administrator", "nurse-supervisor")
        report = audit.verify_connection(session.connection()).to_json() if everyone else None
        return {"report": report, "device_id": str(caller.device.device_id), "audit_seq": seq,
                "audit_hash": chains.held_hash(session, caller.device.device_id, seq) if seq else None}

    def do_documents_missing(session, caller, body):
        return documents.missing(session, caller, list(body["sha256"]))

    def do_document_upload(session, caller, body):
        return documents.store(session, caller, body["path"]["sha256"], body["bytes"])

    def do_document_fetch(session, caller, body):
        document, content = documents.fetch(session, caller, body["document_id"])
        return Response(content, media_type=document.media_type,
                        headers={"X-Umws-Sha256": document.sha256, "Cache-Control": "no-store"})

    async def do_login(request: Request):
        problem = versions_problem(request.headers.get("x-umws-protocol"), request.headers.get("x-umws-schema"),
                                   schema)
        if problem:
            return error(409, "version", problem)
        try:
            body = await request.json()
            device = uuid.UUID(body["device_id"])
            username, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return error(400, "bad-request", "A sign-in gives username, password and device_id.")
        from starlette.concurrency import run_in_threadpool

        for attempt in range(RETRIES):
            try:
                result = await run_in_threadpool(accounts.login, store, username, password, device,
                                                 str(body.get("device_name") or "laptop"), token_hours=token_hours)
            except accounts.AccessRefused as refused:
                return error(refused.status, refused.code, str(refused))
            except OperationalError as failure:
                if attempt + 1 < RETRIES and _retryable(failure):
                    log.info("sign-in retried after %s", type(failure.orig).__name__)
                    continue
                log.exception("sign-in failed")
                return error(503, "busy", "The central store is busy; try signing in again in a moment.")
            return JSONResponse(result)
        return error(503, "busy", "The central store is busy; try signing in again in a moment.")

    routes = [
        Route("/v1/hello", guarded(hello, signed_in=False), methods=["POST", "GET"]),
        Route("/v1/login", do_login, methods=["POST"]),
        Route("/v1/push", guarded(do_push), methods=["POST"]),
        Route("/v1/pull", guarded(do_pull), methods=["POST"]),
        Route("/v1/audit/verify", guarded(do_verify), methods=["POST"]),
        Route("/v1/documents/missing", guarded(do_documents_missing), methods=["POST"]),
        Route("/v1/documents/fetch", guarded(do_document_fetch), methods=["POST"]),
        Route("/v1/documents/{sha256}", guarded(do_document_upload, raw=True), methods=["PUT"]),
    ]
    return Starlette(routes=routes)


def _device_time(request: Request) -> datetime | None:
    value = request.headers.get("x-umws-device-time")
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo else None


def _retryable(failure: OperationalError) -> bool:
    code = getattr(failure.orig, "sqlstate", None)
    return code in ("40P01", "40001", "55P03")
