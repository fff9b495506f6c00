"""Benchmark: downloading a recorded run's documents from the portal (issue 21: each notice or
report download ran a whole-city check just to find names, 3 s at 700 units, 11.5 s with four
at once).

Builds a demo city (`luoshi demo --units N`), loads it into SQLite, records a check of 2013
(`check --record`), starts `luoshi serve` and, as the office (a bearer token), downloads:
a unit's notice (the first download of the run, then again), the report as HTML and XLSX, four
notices at once; then loads one more submission (the run is no longer of the newest state) and
downloads a notice again. Each line gives the wall seconds of the request(s) and the CPU
seconds of the server (with the worker processes a check forks) meanwhile.

    python bench/download_bench.py [--units 700]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LUOSHI = [sys.executable, "-c", "from luoshi.cli.main import run; run()"]


def cpu(pid: int) -> float:
    """The server's CPU seconds, with its finished worker processes' (a check forks them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def luoshi(*args: str, stdin: str | None = None) -> str:
    return subprocess.run([*LUOSHI, *args], input=stdin, text=True, check=True,
                          capture_output=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=700)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="luoshi-download-"))
    db = f"sqlite:///{folder / 'portal.db'}"
    luoshi("demo", "--out", str(folder / "city"), "--units", str(args.units))
    luoshi("load", str(folder / "city" / "facts.yaml"), "--db", db)
    subprocess.run([*LUOSHI, "check", "--year", "2013", "--db", db, "--record", "--format",
                    "json"], capture_output=True, check=False)  # exit 1: findings
    luoshi("users", "add", "office1", "--role", "office", "--password-stdin", "--db", db,
           stdin="bench-pass-1234\n")
    token = luoshi("users", "token", "office1", "--db", db).strip().split()[-1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*LUOSHI, "serve", "--db", db, "--port", str(port)], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                          headers={"authorization": f"Bearer {token}"})
    try:
        for _ in range(600):
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        run = client.get("/api/runs/1").json()
        units = sorted({f["unit"] for f in run["findings"] if f["unit"]})
        print(f"{args.units} 个单位，检查记录 1：{len(run['findings'])} 个问题，{len(units)} 个单位有问题")
        print("| 下载 | 墙钟 s | 服务器 CPU s |")
        print("|---|---|---|")

        def timed(title: str, *urls: str) -> None:
            before, started = cpu(server.pid), time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(urls)) as pool:
                answers = list(pool.map(client.get, urls))
            wall = time.perf_counter() - started
            assert all(answer.status_code == 200 for answer in answers), answers
            print(f"| {title} | {wall:.2f} | {cpu(server.pid) - before:.2f} |", flush=True)

        timed("一个单位的通知书（这次检查的第一次下载）", f"/api/runs/1/notices/{units[0]}")
        timed("另一个单位的通知书", f"/api/runs/1/notices/{units[1]}")
        timed("考核报告 HTML", "/api/runs/1/report.html")
        timed("考核报告 XLSX", "/api/runs/1/report.xlsx")
        timed("四份通知书同时", *(f"/api/runs/1/notices/{unit}" for unit in units[2:6]))
        extra = folder / "extra.yaml"
        extra.write_text("units:\n  - {id: zz-new, name: 新设单位, kind: department}\n",
                         encoding="utf-8")
        luoshi("load", str(extra), "--db", db)
        timed("又一次导入之后的一份通知书", f"/api/runs/1/notices/{units[6]}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
