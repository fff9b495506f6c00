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
import subprocess
import tempfile
import time
from pathlib import Path

from served import LUOSHI, cpu, luoshi, serving


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
    with serving(db, folder, "office1", "office") as (server, client):
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


if __name__ == "__main__":
    main()
