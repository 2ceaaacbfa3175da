"""Sync tests: a real PostgreSQL central store, a real `umws serve` process on 127.0.0.1, and laptops that are real
encrypted local stores signed in to it.

The central store and its server live for a test module (starting them costs seconds); each test makes its own
cases (unique TAR numbers) and its own laptops (each a store file, a device id and a keyring entry of its own).
"""
from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.services import demo
from app.services.cases import NewCase, NewLine, receive_case
from app.store.engine import open_database_url, open_local_store
from app.store.models import Case, Member, Provider
from app.sync import client

ROOT = Path(__file__).resolve().parents[2]
_databases = itertools.count()
_tars = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`python -m app serve` in a subprocess; stop() and start() again on the same port (a server restart)."""

    def __init__(self, database_url: str, home: Path, token_hours: int = 8, page_cases: int = 7,
                 page_changes: int = 25):
        self.database_url = database_url
        self.pages = {"UMWS_SYNC_PAGE_CASES": str(page_cases), "UMWS_SYNC_PAGE_CHANGES": str(page_changes)}
        self.port = free_port()
        self.home = home
        self.token_hours = token_hours
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServerProcess":
        env = {**os.environ, "UMWS_HOME": str(self.home), "PYTHONPATH": str(ROOT), **self.pages}
        env.pop("UMWS_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--database-url", self.database_url, "--port", str(self.port),
             "--token-hours", str(self.token_hours)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the sync server stopped: " + self.process.stderr.read().decode()[-2000:])
            try:
                httpx.get(self.url + "/v1/hello", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the sync server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Central:
    """The central store as tests reach it directly (a supervisor's --database-url, or the test's own checks)."""

    def __init__(self, store):
        self.store = store

    def new_case(self, *, category: str = "outpatient", lines=(("97110", 6), ("97140", 4)),
                 received: datetime | None = None, birth: date = date(1970, 5, 17), tar: str | None = None,
                 member_of: str | None = None) -> str:
        """A request received centrally; `tar`: under that number (one a laptop gave offline, taken here first);
        `member_of`: for the member of that case (else a new member)."""
        number = next(_tars)
        tar = tar or f"7{os.getpid() % 1000:03d}{number:07d}"
        received = received or datetime.now(timezone.utc) - timedelta(hours=1)
        with self.store.session() as session, session.begin():
            if member_of:
                member = session.scalar(select(Case).where(Case.tar == member_of)).member
            else:  # one CIN per case made here (a random one of 10^7 collided now and then over a session's cases)
                member = Member(id=uuid.uuid4(), cin=f"7{number % 10**7:07d}X", first_name="Sync",
                                last_name=f"Member{tar[-4:]}", birth_date=birth, sex="F", language="en")
                session.add(member)
            provider = session.scalars(select(Provider).order_by(Provider.npi).limit(1)).one()
            receive_case(session, NewCase(
                tar=tar, line_of_business="medi-cal", service_category=category, review_timing="pre-service",
                urgency="routine", received_at=received, member=member, requesting_provider_id=provider.id,
                lines=[NewLine(code, f"service {code}", units) for code, units in lines],
                diagnoses=[("M54.50", "Low back pain")]), actor=None)
        return tar

    def user(self, username: str, role: str = "um-nurse", team: str | None = "outpatient") -> str:
        """A user with the demo password of the role (made once per central store)."""
        from app.services.auth import set_demo_passwords
        from app.store.models import User

        with self.store.session() as session, session.begin():
            if session.scalar(select(User).where(User.username == username)) is None:
                user = User(id=uuid.uuid4(), username=username, full_name=username.title(), role=role, team=team,
                            credential="RN", active=True)
                session.add(user)
                set_demo_passwords(session, [user])
        return username

    def case(self, tar: str) -> Case:
        with self.store.session() as session:
            case = session.scalar(select(Case).where(Case.tar == tar))
            case.assignee  # noqa: B018 - load
            return case

    def case_by_id(self, case_id) -> Case | None:
        with self.store.session() as session:
            case = session.get(Case, case_id)
            if case is not None:
                case.assignee  # noqa: B018 - load
            return case

    def act(self, action, tar: str, username: str, **kwargs):
        with self.store.session() as session, session.begin():
            return action(session, tar, username, **kwargs)


class Laptop:
    """An encrypted local store signed in to the sync server as one user."""

    def __init__(self, directory: Path, server: ServerProcess, username: str, central_store):
        self.path = directory / "store.db"
        self.server = server
        self.central_store = central_store
        self.username = username
        self.store = open_local_store(self.path)

    def login(self, password: str | None = None, **kwargs) -> dict:
        from app.services.auth import demo_password
        from app.store.models import User

        if password is None:
            with self.central_store.session() as session:
                role = session.scalar(select(User.role).where(User.username == self.username))
            password = demo_password(role)
        return client.login(self.store, self.server.url, self.username, password, device_name="test laptop",
                            **kwargs)

    def sync(self, **kwargs) -> client.SyncReport:
        return client.sync(self.store, **kwargs)

    def act(self, action, tar: str, **kwargs):
        with self.store.session() as session, session.begin():
            return action(session, tar, self.username, **kwargs)

    def case(self, tar: str) -> Case | None:
        with self.store.session() as session:
            case = session.scalar(select(Case).where(Case.tar == tar))
            if case is not None:
                case.assignee  # noqa: B018 - load
            return case

    def status(self) -> dict:
        return client.status(self.store)

    def reopen(self) -> None:
        """Close the store and open it again (a laptop killed after its local commit, started again)."""
        self.store.close()
        self.store = open_local_store(self.path)

    def close(self) -> None:
        self.store.close()


@pytest.fixture(scope="module")
def central_url(postgres_server):
    return postgres_server.create_database(f"umws_sync_{os.getpid()}_{next(_databases)}")


@pytest.fixture(scope="module")
def central_store(central_url):
    store = open_database_url(central_url)
    demo.generate(store, 0, seed=21)
    yield store
    store.close()


@pytest.fixture(scope="module")
def sync_server(central_store, central_url):
    home = Path(tempfile.mkdtemp(prefix="umws-server-"))
    server = ServerProcess(central_url, home).start()
    yield server
    server.stop()


@pytest.fixture
def central(central_store):
    return Central(central_store)


@pytest.fixture
def laptops(sync_server, central_store, tmp_path):
    made: list[Laptop] = []

    def make(username: str, *, login: bool = True) -> Laptop:
        directory = tmp_path / f"laptop-{len(made)}-{username}"
        directory.mkdir()
        laptop = Laptop(directory, sync_server, username, central_store)
        made.append(laptop)
        if login:
            laptop.login()
        return laptop

    yield make
    for laptop in made:
        laptop.close()


class FaultyNetwork(httpx.BaseTransport):
    """The real network to the real server, with faults injected at chosen requests, deterministically:
    `fail("/v1/push", "before")` loses the connection before the request leaves, `"answer-lost"` after the server
    answered (it committed; the laptop never hears it). `after=n` lets n matching requests through first."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.plan: list[list] = []
        self.seen: list[str] = []

    def fail(self, path: str, fault: str, *, after: int = 0) -> None:
        self.plan.append([path, fault, after])

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.url.path)
        for item in self.plan:
            path, fault, after = item
            if request.url.path != path:
                continue
            if after:
                item[2] -= 1
                break
            self.plan.remove(item)
            if fault == "before":
                raise httpx.ConnectError("injected: the network went away before the request left")
            response = self.inner.handle_request(request)
            response.read()
            response.close()
            raise httpx.ReadError("injected: the connection broke after the server answered")
        return self.inner.handle_request(request)


@pytest.fixture
def network():
    transport = FaultyNetwork()
    yield transport
    transport.close()
