"""A throwaway PostgreSQL server for tests: initdb + pg_ctl on a free loopback port, removed afterwards.

Needs the server binaries (Debian package ``postgresql``). Without them the tests that use it
skip, unless ``AUTOML_REQUIRE_SYSTEM_DEPS=1`` (CI), where a missing server is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

MISSING = "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package 'postgresql'"


def server_bin() -> Path:
    """The folder of initdb and pg_ctl: Debian keeps them off PATH, under /usr/lib/postgresql/<version>/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        if os.environ.get("AUTOML_REQUIRE_SYSTEM_DEPS") == "1":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server with trust authentication; yields its URL (user ``postgres``, database ``postgres``)."""
    bin_dir = server_bin()
    # initdb and postgres refuse to run as root: as root, the cluster belongs to the 'postgres' user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="automl-pg-"))
    data, log = root / "data", root / "server.log"
    if as_user:
        shutil.chown(root, "postgres")

    def run(*command: str) -> None:
        subprocess.run([*as_user, *command], check=True, capture_output=True, timeout=120)

    port = free_port()
    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        run(
            str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
