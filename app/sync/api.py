"""The laptop's HTTP client of the sync service (httpx), and the errors a person may have to act on.

Every request sends this workstation's protocol and schema versions, the device id and the device's clock; signed-in
requests send the token kept in the OS keyring (app.sync.credentials). A lost connection, a timeout or a server
that cannot answer is `Offline`: nothing is lost, the outbox stays as it was, and the next sync sends it again.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Callable

import httpx

from app.server import PROTOCOL

TIMEOUT = httpx.Timeout(120.0, connect=5.0)  # a batch on a busy central store may take a while
DOWNLOAD_CHUNK = 64 * 1024  # a document download is read this much at a time; cancel is looked at in between


class SyncError(Exception):
    """A sync that did not finish; the message says what happened and what to do. Nothing was lost."""

    code = "sync"


class Offline(SyncError):
    code = "offline"


class VersionMismatch(SyncError):
    code = "version"


class SignInNeeded(SyncError):
    code = "sign-in"


class DeviceRevoked(SyncError):
    code = "revoked"


class DownloadCancelled(Exception):
    """The caller's `cancelled()` said stop while a download was under way; what had come was dropped."""


class ServerRefused(SyncError):
    code = "refused"

    def __init__(self, message: str, server_code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.server_code = server_code  # the server's own error code (e.g. "out-of-scope", "sha256-mismatch")
        self.status = status


@functools.lru_cache(maxsize=1)
def schema_head() -> str:
    """This workstation's schema: the head of its migration chain (read once)."""
    from app.store import migrate

    return migrate.head_revision()


def normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"'{url}' is not a server address: give it as https://host:port (or http:// on a test bench)")
    return url


class Api:
    """One sync server as this laptop talks to it."""

    def __init__(self, url: str, device_id: str, *, token: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 transport: httpx.BaseTransport | None = None):
        self.url = normalize_url(url)
        self.device_id = device_id
        self.token = token
        self.clock = clock
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT, transport=transport)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Api":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def headers(self) -> dict:
        headers = {"X-Umws-Protocol": str(PROTOCOL), "X-Umws-Schema": schema_head(),
                   "X-Umws-Device": self.device_id, "X-Umws-Device-Time": self.clock().isoformat()}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _offline(self, error: httpx.TransportError) -> Offline:
        return Offline(f"The sync server at {self.url} cannot be reached ({type(error).__name__}). Working "
                       "offline: every change is kept on this laptop and goes up at the next sync.")

    def post(self, path: str, body: dict) -> dict:
        try:
            response = self.client.post(path, json=body, headers=self.headers())
        except httpx.TransportError as error:
            raise self._offline(error) from error
        return self._answer(response)

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        try:
            return self.client.request(method, path, headers={**self.headers(), **kwargs.pop("headers", {})},
                                       **kwargs)
        except httpx.TransportError as error:
            raise self._offline(error) from error

    def _answer(self, response: httpx.Response) -> dict:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 200:
            return data
        message = data.get("message") or f"The sync server answered {response.status_code}."
        code = data.get("error")
        if response.status_code == 409 and code == "version":
            raise VersionMismatch(message)
        if response.status_code == 401:
            raise SignInNeeded(message)
        if response.status_code == 403 and code == "revoked":
            raise DeviceRevoked(message)
        if response.status_code in (502, 503, 504) or response.status_code >= 500:
            raise Offline(f"{message} (the server could not answer; your changes wait on this laptop)")
        raise ServerRefused(message, code, response.status_code)

    # ----- the protocol -----------------------------------------------------------------------------------
    def hello(self) -> dict:
        return self.post("/v1/hello", {})

    def login(self, username: str, password: str, device_name: str) -> dict:
        return self.post("/v1/login", {"username": username, "password": password, "device_id": self.device_id,
                                       "device_name": device_name})

    def push(self, mutations: list[dict], audit: list[dict]) -> dict:
        return self.post("/v1/push", {"mutations": mutations, "audit": audit})

    def pull(self, cursor: int | None, *, after_id: str | None = None, full_cursor: int | None = None,
             refresh: list[str] = ()) -> dict:
        return self.post("/v1/pull", {"cursor": cursor, "after_id": after_id, "full_cursor": full_cursor,
                                      "refresh": list(refresh)})

    def verify(self) -> dict:
        return self.post("/v1/audit/verify", {})

    # ----- document files (app.server.documents) -------------------------------------------------------------
    def documents_missing(self, hashes: list[str]) -> dict:
        return self.post("/v1/documents/missing", {"sha256": list(hashes)})

    def upload_document(self, sha256: str, content: bytes) -> dict:
        """One file, its raw bytes as the body (the server hashes them and refuses a mismatch)."""
        return self._answer(self._send("PUT", f"/v1/documents/{sha256}", content=content,
                                       headers={"Content-Type": "application/octet-stream"}))

    def fetch_document(self, document_id: str, *, progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] | None = None, chunk_size: int = DOWNLOAD_CHUNK) -> bytes:
        """A document's file from the central store (refused, ServerRefused, outside the user's queues).

        The answer is read `chunk_size` bytes at a time: `progress(received, total)` after each chunk (total: the
        answer's Content-Length, 0 when unknown), and `cancelled()` before the request and after each chunk; when
        it says stop, the connection is closed, what came is dropped, and DownloadCancelled is raised."""
        progress = progress or (lambda received, total: None)
        cancelled = cancelled or (lambda: False)
        if cancelled():
            raise DownloadCancelled("The download was cancelled before it started.")
        try:
            with self.client.stream("POST", "/v1/documents/fetch", json={"document_id": document_id},
                                    headers=self.headers()) as response:
                if response.status_code != 200:
                    response.read()
                    self._answer(response)
                    raise ServerRefused(f"The sync server answered {response.status_code}.")
                try:
                    total = max(0, int(response.headers.get("content-length") or 0))
                except ValueError:
                    total = 0
                received = bytearray()
                progress(0, total)
                for chunk in response.iter_bytes(chunk_size):
                    received += chunk
                    progress(len(received), max(total, len(received)) if total else 0)
                    if cancelled():
                        raise DownloadCancelled(f"The download was cancelled after {len(received):,} bytes.")
                return bytes(received)
        except httpx.TransportError as error:  # before the answer, or the connection lost in the middle of it
            raise self._offline(error) from error
