"""What the portal's benchmarks share: `luoshi` run as this Python runs it, and a `luoshi serve`
over a store, ready, with a client of one account's bearer token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

LUOSHI = [sys.executable, "-c", "from luoshi.cli.main import run; run()"]


def luoshi(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([*LUOSHI, *args], input=stdin, text=True, check=True,
                          capture_output=True).stdout


def cpu(pid: int) -> float:
    """A process's CPU seconds, with its finished child processes' (a check forks workers)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(db: str, folder: Path, account: str, role: str, unit: str | None = None,
            options: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    """`luoshi serve --db DB [options]`, ready, and a client of a new account's token."""
    luoshi("users", "add", account, "--role", role, *(("--unit", unit) if unit else ()),
           "--password-stdin", "--db", db, stdin="bench-pass-1234\n")
    token = luoshi("users", "token", account, "--db", db).strip().split()[-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*LUOSHI, "serve", "--db", db, "--port", str(port), *options],
                              cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                          headers={"authorization": f"Bearer {token}"})
    try:
        for _ in range(600):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server, client
    finally:
        server.terminate()
        server.wait(timeout=30)
