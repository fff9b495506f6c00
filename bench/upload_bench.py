"""Benchmark: the portal's memory for refused uploads (issue 21: a refused 20 MB CSV peaked at
3.0 GB and kept 2.9 GB resident).

Starts `luoshi serve` over the example city in a temporary folder and, as a unit's account
(a bearer token), posts each input below to /api/submissions, one after another, each once.
For each, the table gives the answer, the server's peak memory (VmHWM) after it, its resident
memory (VmRSS) before and after, and the server's CPU seconds beside the wall seconds. The
target: every refused input under 500 MB, and the memory given back afterwards.

    python bench/upload_bench.py [--mb 20] [--max-records N]

Inputs (each just under --mb MB): a CSV of persons whose unit exists nowhere (E501 in every
row), one of persons with three columns too many (E205), a wide CSV of inspections with a
wrong value in every row, the same as YAML, and a JSON of persons citing no unit.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from served import cpu, luoshi, serving

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "chibi" / "facts.yaml"


def sized(head: str, row: Callable[[int], str], size: int, tail: str = "") -> bytes:
    """`head`, rows and `tail`: as many rows as fit, with the form around it, in `size` bytes."""
    out = io.BytesIO()
    out.write(head.encode())
    number = 0
    while out.tell() < size - 64 * 1024:
        out.write(row(number).encode())
        number += 1
    out.write(tail.encode())
    return out.getvalue()


INSPECTION = ("i{n},cb-cz,cb-gh,2013-05-08,regular,comprehensive,open,maybe,cb-i01;cb-i02,cb-p11,"
              "false,2013-05-20\n")


def inputs(size: int) -> dict[str, tuple[str, bytes]]:
    return {
        "CSV，每行引用不存在的单位": ("persons.csv", sized(
            "id,name,unit\n", lambda n: f"p{n},张三,nowhere\n", size)),
        "CSV，多出三列": ("persons.csv", sized(
            "id,name,unit\n", lambda n: f"p{n},张三,cb-cz,x,y,z\n", size)),
        "CSV，12 列，每行一个错值": ("inspections.csv", sized(
            "id,organizer,target_unit,date,kind,scope,mode,special,institutions,led_by,"
            "re_supervision,published_on\n", lambda n: INSPECTION.format(n=n), size)),
        "YAML，12 个字段，每条一个错值": ("f.yaml", sized(
            "inspections:\n", lambda n: (
                f"  - {{id: i{n}, organizer: cb-cz, target_unit: cb-gh, date: 2013-05-08, "
                "kind: regular, scope: comprehensive, mode: open, special: maybe, "
                "institutions: [cb-i01, cb-i02], led_by: cb-p11, re_supervision: false, "
                "published_on: 2013-05-20}\n"), size)),
        "JSON，每条引用不存在的单位": ("f.json", sized(
            '{"persons": [\n', lambda n: f'{{"id": "p{n}", "name": "张三", "unit": "nowhere"}},\n',
            size, '{"id": "last", "name": "x", "unit": "nowhere"}]}\n')),
    }


def status(pid: int) -> dict[str, float]:
    """The server's peak and resident memory (MB) and CPU seconds so far."""
    found: dict[str, float] = {"cpu": cpu(pid)}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM", "VmRSS")):
            found[line[:5]] = int(line.split()[1]) / 1024
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=20, help="each input's size (MB)")
    parser.add_argument("--max-records", type=int, help="luoshi serve --max-records")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="luoshi-upload-"))
    db = f"sqlite:///{folder / 'portal.db'}"
    luoshi("load", str(EXAMPLE), "--db", db)
    limit = ("--max-records", str(args.max_records)) if args.max_records else ()
    with serving(db, folder, "caizheng", "unit", "cb-cz", limit) as (server, client):
        client.get("/api/submissions")  # the pool and the first reads, before any measure
        print("| 输入 | MB | 答复 | 问题数 | 峰值内存 MB | 之前常驻 MB | 之后常驻 MB | 墙钟 s | 服务器 CPU s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for title, (name, data) in inputs(args.mb * 2**20).items():
            before = status(server.pid)
            started = time.perf_counter()
            answer = client.post("/api/submissions", files=[("files", (name, data))])
            wall = time.perf_counter() - started
            time.sleep(1)  # the worker thread's memory released
            after = status(server.pid)
            total = answer.json().get("total", "") if answer.status_code == 422 else ""
            print(f"| {title} | {len(data) / 2**20:.1f} | {answer.status_code} | {total} | "
                  f"{after['VmHWM']:.0f} | {before['VmRSS']:.0f} | {after['VmRSS']:.0f} | "
                  f"{wall:.1f} | {after['cpu'] - before['cpu']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
