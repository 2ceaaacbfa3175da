"""A real PostgreSQL for the tests: initdb and start a throwaway cluster, stop and remove it afterwards.

PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` (or `nobody`) user, in a directory
made with mkdtemp and handed to that user (pytest's tmp_path is private to root). Binaries: $UMWS_PG_BIN, else
/usr/lib/postgresql/15/bin.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("UMWS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return (PG_BIN / "postgres").exists() and (PG_BIN / "initdb").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")


class PostgresServer:
    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="umws-pg-"))
        self.port = _free_port()
        self.prefix = _run_as()
        if self.prefix:
            user = self.prefix[2]
            shutil.chown(self.directory, user=user)
        self.data = self.directory / "data"

    def _run(self, *command: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *command], check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> "PostgresServer":
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "umws", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"), "-w",
                  "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off",
                  "start")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if probe.returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError("PostgreSQL did not start; see " + str(self.directory / "log"))

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://umws@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        self._run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "umws", name)
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)
