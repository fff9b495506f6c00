"""Load test of the portal (issue 12 item 6, "under load"): many clients submitting and reading
at once against ONE `luoshi serve` process over PostgreSQL, on loopback only, for a bounded time.

It makes a database of its own on the PostgreSQL server (`--admin-url`, default
$LUOSHI_TEST_POSTGRES, else postgres@127.0.0.1:5432), loads a generated city (`luoshi demo`'s
`generate`), adds one unit account with an API token per client (and an office account), starts
`luoshi serve` on a free loopback port, then runs the clients for `--seconds`. Each client is
one unit's clerk or script, looping:

- `POST /api/submissions`: its unit's own records as YAML (`load --unit`), one title changed in
  every round, so that each accepted submission is a new state of the unit;
- `GET /api/submissions` (the accepted one must be listed) and `GET /api/findings?year=2013`
  (only its own unit's findings);
- every other client also holds a browser session (logged in through the form) and loads
  首页 `/` and 报送 `/submit`;
- one office client loads the office's 首页 (every unit's status: the whole city's check).

Then, with the server stopped: nothing lost, nothing twice — the loads `luoshi submissions
--format json` lists for the clients' units are exactly the 201 answers, with the same counts —
and each unit's records in the store are those of its last accepted submission. The database is
dropped at the end. It prints a table (requests, rate, p50/p95/p99 by endpoint kind, errors, the
server's CPU beside wall) and exits 1 when a target is missed: any error, anything lost, a p99
of a unit's pages and reads over `--p99` seconds (submissions and the office's 首页 are reported,
not held to it). Clients pause `--pause` seconds on average after each request (0: none) and
start at different moments, as independent users do; logins happen before the clock starts.

    python bench/portal_load.py [--clients 50] [--seconds 60] [--units 200] [--pause 0]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from luoshi.facts import store  # noqa: E402
from luoshi.facts.demo import generate  # noqa: E402
from luoshi.facts.inputs import read_input  # noqa: E402
from luoshi.facts.kinds import KINDS  # noqa: E402
from luoshi.facts.validate import read_facts  # noqa: E402
from luoshi.web import accounts  # noqa: E402
from tests.test_versions import owner_of  # noqa: E402

DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CSRF = re.compile(r'name="(?:csrf|login_csrf)" value="([^"]*)"')
YEAR = 2013
KINDS_ORDER = ["POST /api/submissions", "GET /api/submissions", "GET /api/findings",
               "GET / (单位首页)", "GET /submit (报送)", "GET / (惩防办首页)"]
# The p99 target holds for a unit's pages and reads. The office's 首页 is the whole city's check
# (and its reminders) at every load: reported, not held to it (docs/performance.md).
TARGETED = set(KINDS_ORDER[1:5])
LOGINS_AT_ONCE = 4


@dataclass
class Tally:
    """What the clients saw: latencies by endpoint kind, errors, the accepted submissions."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    accepted: dict[str, list[tuple[int, dict[str, Any], str]]] = field(
        default_factory=lambda: defaultdict(list))  # unit -> [(load id, counts, YAML)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` and of its children that ended (Linux /proc): every
    check runs in a forked worker (`engine.runtime.forked`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def luoshi_command() -> list[str]:
    return [sys.executable, "-m", "luoshi.cli.main"]


def projected(rows: dict[str, list[dict[str, Any]]], unit: str) -> dict[str, list[str]]:
    """`unit`'s own records (by each kind's OWNER path), as comparable sorted JSON lines."""
    out: dict[str, list[str]] = {}
    for kind, kind_rows in rows.items():
        if kind not in KINDS or KINDS[kind].OWNER is None:  # not the store's history kinds
            continue
        mine = [line({name: row.get(name) for name in KINDS[kind].model_fields})
                for row in kind_rows if owner_of(kind, row, rows) == unit]
        if mine:
            out[kind] = sorted(mine)
    return out


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)


def unit_records(rows: dict[str, list[dict[str, Any]]], unit: str) -> dict[str, list[dict[str, Any]]]:
    """`unit`'s own records as it submits them (tests/test_versions.py `submission_of`)."""
    data = {kind: [{name: row[name] for name in KINDS[kind].model_fields} for row in kind_rows
                   if owner_of(kind, row, rows) == unit]
            for kind, kind_rows in rows.items() if kind in KINDS and KINDS[kind].OWNER is not None}
    return {kind: records for kind, records in data.items() if records}


def submission_text(records: dict[str, list[dict[str, Any]]], unit: str, round_: int) -> str:
    """The unit's records with its first education record's title marking this round."""
    data = copy.deepcopy(records)
    data["education"][0]["title"] = f"惩防体系制度专题学习（{unit} 第 {round_} 次报送）"
    return yaml.safe_dump(data, allow_unicode=True)


# -- the clients ------------------------------------------------------------------------------

async def timed(tally: Tally, kind: str, call: Any, expect: int) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = await call
    except httpx.HTTPError as error:
        tally.latencies[kind].append(time.perf_counter() - start)
        tally.errors.append(f"{kind}: {type(error).__name__} {error}")
        return None
    tally.latencies[kind].append(time.perf_counter() - start)
    if response.status_code != expect:
        tally.errors.append(f"{kind}: HTTP {response.status_code} {said(response)}")
        return None
    return response


def said(response: httpx.Response) -> str:
    """What an error answer says: the sentence of an error page, else the body's start."""
    found = re.search(r'<section class="card narrow">.*?<p>(.*?)</p>', response.text, re.S)
    return (found[1] if found else response.text)[:500].strip()


async def log_in(client: httpx.AsyncClient, name: str, password: str) -> None:
    form = await client.get("/login")
    token = CSRF.search(form.text)
    if token is None:
        raise RuntimeError(f"登录页没有 CSRF 令牌：{form.status_code}")
    answer = await client.post("/login", data={"csrf": token[1], "name": name,
                                               "password": password})
    if answer.status_code != 303:
        raise RuntimeError(f"{name} 登录失败：HTTP {answer.status_code}")


async def paused(pause: float, rng: random.Random, deadline: float) -> bool:
    """A user's pause (0 to 2 × `pause`, `pause` on average); whether time is left after it."""
    await asyncio.sleep(pause * rng.random() * 2)
    return time.perf_counter() < deadline


async def unit_client(api: httpx.AsyncClient, browser: httpx.AsyncClient | None, unit: str,
                      records: dict[str, list[dict[str, Any]]], deadline: float, pause: float,
                      tally: Tally, rng: random.Random) -> None:
    try:
        # Independent users do not all start on the same instant: each begins within about two
        # rounds (a round: 3 to 5 requests, a pause after each).
        await asyncio.sleep(pause * rng.random() * 10)
        round_ = 0
        while time.perf_counter() < deadline:
            round_ += 1
            text = submission_text(records, unit, round_)
            files = {"files": (f"{unit}.yaml", text.encode(), "application/x-yaml")}
            answer = await timed(tally, KINDS_ORDER[0], api.post("/api/submissions", files=files),
                                 201)
            load_id = None
            if answer is not None:
                body = answer.json()
                load_id = body["id"]
                if body["unit"] != unit:
                    tally.errors.append(f"{unit} 的报送 {load_id} 应答的单位是 {body['unit']}")
                tally.accepted[unit].append((load_id, body["counts"], text))
            if not await paused(pause, rng, deadline):
                break
            listed = await timed(tally, KINDS_ORDER[1], api.get("/api/submissions"), 200)
            if listed is not None:
                loads = listed.json()
                if any(load["unit"] != unit for load in loads):
                    tally.errors.append(f"{unit} 的报送列表中有其他单位的报送")
                if load_id is not None and load_id not in {load["id"] for load in loads}:
                    tally.errors.append(f"{unit} 被接受的报送 {load_id} 不在其报送列表中")
            if not await paused(pause, rng, deadline):
                break
            found = await timed(tally, KINDS_ORDER[2],
                                api.get("/api/findings", params={"year": YEAR}), 200)
            if found is not None and any(f["unit"] not in (unit, None)
                                         for f in found.json()["findings"]):
                tally.errors.append(f"{unit} 看到了其他单位的问题")
            if browser is not None:
                if not await paused(pause, rng, deadline):
                    break
                await timed(tally, KINDS_ORDER[3], browser.get("/"), 200)
                if not await paused(pause, rng, deadline):
                    break
                await timed(tally, KINDS_ORDER[4], browser.get("/submit"), 200)
            if not await paused(pause, rng, deadline):
                break
    finally:
        await api.aclose()
        if browser is not None:
            await browser.aclose()


async def office_client(browser: httpx.AsyncClient, deadline: float, pause: float,
                        tally: Tally) -> None:
    try:
        while time.perf_counter() < deadline:
            await timed(tally, KINDS_ORDER[5], browser.get("/"), 200)
            await asyncio.sleep(max(pause, 1.0))  # the office reads its overview now and then
    finally:
        await browser.aclose()


async def run_clients(base: str, clients: list[tuple[str, str, str | None]],
                      records: dict[str, dict[str, list[dict[str, Any]]]], seconds: float,
                      pause: float, office_password: str | None, seed: int,
                      started: Callable[[], None]) -> Tally:
    tally = Tally()
    timeout = httpx.Timeout(120.0)
    apis = [httpx.AsyncClient(base_url=base, timeout=timeout,
                              headers={"authorization": f"Bearer {token}"})
            for _, token, _ in clients]
    browsers = [httpx.AsyncClient(base_url=base, timeout=timeout) if password else None
                for _, _, password in clients]
    office = httpx.AsyncClient(base_url=base, timeout=timeout) if office_password else None
    # Everyone logs in before the clock starts (a login is a slow password hash, on purpose), a
    # few at a time: logins under way count against the address's limit until they succeed,
    # and every client comes from this one address (web/security.py `Throttle`).
    turns = asyncio.Semaphore(LOGINS_AT_ONCE)

    async def in_turn(client: httpx.AsyncClient, name: str, password: str) -> None:
        async with turns:
            await log_in(client, name, password)

    logins = [in_turn(browser, f"load-{unit}", password)
              for (unit, _, password), browser in zip(clients, browsers, strict=True)
              if browser is not None and password is not None]
    if office is not None and office_password:
        logins.append(in_turn(office, "load-office", office_password))
    await asyncio.gather(*logins)
    started()
    deadline = time.perf_counter() + seconds
    tasks = [unit_client(api, browser, unit, records[unit], deadline, pause, tally,
                         random.Random(seed + n))
             for n, ((unit, _, _), api, browser) in enumerate(zip(clients, apis, browsers,
                                                                  strict=True))]
    if office is not None:
        tasks.append(office_client(office, deadline, pause, tally))
    await asyncio.gather(*tasks)
    return tally


# -- setting up, checking afterwards, tearing down -----------------------------------------------

def setup_store(db: str, facts_path: Path, units: list[str]) -> tuple[list[tuple[str, str, str | None]], str]:
    """The city loaded, one account and token per client unit (every other one with a password
    for a browser session), and an office account; the clients and the office's password."""
    facts, inputs = read_facts([str(facts_path)])
    store.load(facts, inputs, db)
    engine = store.connect(db)
    try:
        clients = []
        for n, unit in enumerate(units):
            password = f"load-pass-{uuid.uuid4().hex}"
            accounts.add_user(engine, f"load-{unit}", "unit", unit, password)
            token = accounts.new_token(engine, f"load-{unit}")
            clients.append((unit, token, password if n % 2 == 0 else None))
        office = f"load-pass-{uuid.uuid4().hex}"
        accounts.add_user(engine, "load-office", "office", None, office)
    finally:
        engine.dispose()
    return clients, office


def start_server(db: str, port: int, folder: Path) -> subprocess.Popen[bytes]:
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen([*luoshi_command(), "serve", "--db", db, "--port", str(port)],
                              cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    while time.monotonic() - started < 120:
        if server.poll() is not None:
            raise RuntimeError(f"服务没有启动：{(folder / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise RuntimeError("服务 120 秒内没有应答 /healthz")


def verify(db: str, tally: Tally, units: list[str], folder: Path) -> list[str]:
    """Nothing lost, nothing twice, each unit's records its last accepted submission's."""
    problems: list[str] = []
    listed = subprocess.run([*luoshi_command(), "submissions", "--db", db, "--format", "json"],
                            capture_output=True, text=True, cwd=folder, check=True)
    stored = {load["id"]: load for load in json.loads(listed.stdout)
              if load["scope"] == "unit" and load["unit"] in set(units)}
    answered = {load_id: (unit, counts) for unit, got in tally.accepted.items()
                for load_id, counts, _ in got}
    total = sum(len(got) for got in tally.accepted.values())
    if len(answered) != total:
        problems.append(f"{total - len(answered)} 个 201 应答给出了重复的报送编号")
    for load_id in sorted(answered.keys() - stored.keys()):
        problems.append(f"报送 {load_id}（{answered[load_id][0]}）应答 201 却没有存入")
    for load_id in sorted(stored.keys() - answered.keys()):
        problems.append(f"库中有报送 {load_id}（{stored[load_id]['unit']}）却没有应答 201")
    for load_id in sorted(answered.keys() & stored.keys()):
        unit, counts = answered[load_id]
        if (stored[load_id]["unit"], stored[load_id]["counts"]) != (unit, counts):
            problems.append(f"报送 {load_id} 存入的单位或条数与应答不同")
    current = read_input(None, db)
    for unit, got in tally.accepted.items():
        last = max(got, key=lambda item: item[0])
        submitted = yaml.safe_load(last[2])  # every record of it is the unit's own
        expected = {kind: sorted(line(record) for record in records)
                    for kind, records in submitted.items()}
        if projected(current, unit) != expected:
            problems.append(f"{unit} 的现有记录不是其最后一次被接受的报送（{last[0]}）")
    return problems


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))]


def summary(tally: Tally, wall: float, server_cpu: float, client_cpu: float,
            problems: list[str], args: argparse.Namespace) -> dict[str, Any]:
    kinds = []
    for kind in KINDS_ORDER:
        values = tally.latencies.get(kind, [])
        if values:
            kinds.append({"kind": kind, "requests": len(values), "rate": len(values) / wall,
                          "p50": percentile(values, 0.50), "p95": percentile(values, 0.95),
                          "p99": percentile(values, 0.99), "max": max(values),
                          "targeted": kind in TARGETED})
    reads = [v for kind, values in tally.latencies.items() if kind in TARGETED for v in values]
    writes = tally.latencies.get(KINDS_ORDER[0], [])
    return {"clients": args.clients, "units": args.units, "seconds": args.seconds,
            "pause": args.pause, "wall": wall, "server_cpu": server_cpu, "client_cpu": client_cpu,
            "requests": sum(len(v) for v in tally.latencies.values()), "kinds": kinds,
            "reads_p99": percentile(reads, 0.99) if reads else None,
            "submissions_p99": percentile(writes, 0.99) if writes else None,
            "accepted": sum(len(got) for got in tally.accepted.values()),
            "accepted_units": sum(bool(got) for got in tally.accepted.values()),
            "errors": tally.errors[:50], "error_count": len(tally.errors),
            "lost": problems}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['clients']} 个单位客户端 + 1 个惩防办客户端，{result['units']} 个单位，"
             f"{result['seconds']:g} 秒（间隔 {result['pause']:g} 秒）；"
             f"墙钟 {result['wall']:.1f} 秒，服务进程 CPU {result['server_cpu']:.1f} 秒"
             f"（{result['server_cpu'] / result['wall']:.2f} 核），"
             f"客户端 CPU {result['client_cpu']:.1f} 秒",
             f"{'端点':<24}{'请求':>7}{'每秒':>8}{'p50':>8}{'p95':>8}{'p99':>8}{'最大':>8}"]
    for kind in result["kinds"]:
        mark = "" if kind["targeted"] else "（不计入 p99 目标）"
        lines.append(f"{kind['kind']:<24}{kind['requests']:>7}{kind['rate']:>8.1f}"
                     f"{kind['p50']:>8.3f}{kind['p95']:>8.3f}{kind['p99']:>8.3f}{kind['max']:>8.3f}{mark}")
    lines.append(f"共 {result['requests']} 个请求，{result['requests'] / result['wall']:.1f} 个/秒；"
                 f"接受报送 {result['accepted']} 次；错误 {result['error_count']} 个；"
                 f"丢失或重复 {len(result['lost'])} 处")
    lines.extend(f"  错误：{error}" for error in result["errors"][:10])
    lines.extend(f"  核对：{problem}" for problem in result["lost"][:10])
    return "\n".join(lines)


def missed(result: dict[str, Any], limit: float) -> list[str]:
    out = []
    if result["error_count"]:
        out.append(f"{result['error_count']} 个错误")
    if result["lost"]:
        out.append(f"{len(result['lost'])} 处丢失或重复")
    if result["accepted_units"] < result["clients"]:
        out.append(f"只有 {result['accepted_units']} 个客户端的报送被接受过")
    for kind in result["kinds"]:
        if kind["targeted"] and kind["p99"] > limit:
            out.append(f"{kind['kind']} 的 p99 {kind['p99']:.3f} 秒超过 {limit:g} 秒")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="单位客户端个数（每个一个单位）")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--units", type=int, default=200, help="生成城市的单位个数")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="客户端两次请求之间的平均停顿（秒，0：不停顿）")
    parser.add_argument("--p99", type=float, default=1.0, help="页面与读取的 p99 上限（秒）")
    parser.add_argument("--admin-url", default=os.environ.get("LUOSHI_TEST_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--json", type=Path, help="结果另存为 JSON")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    facts = generate(args.units, args.seed)
    with_education = {record["unit"] for record in facts["education"]}
    units = [unit["id"] for unit in facts["units"] if unit["id"] in with_education][:args.clients]
    if len(units) < args.clients:
        parser.error(f"只有 {len(units)} 个单位可作客户端；请加大 --units")
    name = f"luoshi_load_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    db = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            facts_path = folder / "facts.yaml"
            facts_path.write_text(yaml.safe_dump(facts, allow_unicode=True), encoding="utf-8")
            clients, office = setup_store(db, facts_path, units)
            rows = read_input(None, db)
            records = {unit: unit_records(rows, unit) for unit in units}
            port = free_port()
            server = start_server(db, port, folder)
            try:
                at: dict[str, float] = {}

                def started() -> None:  # after the logins: what the figures cover
                    at.update(cpu=cpu_seconds(server.pid), wall=time.perf_counter(),
                              mine=time.process_time())

                tally = asyncio.run(run_clients(f"http://127.0.0.1:{port}", clients, records,
                                                args.seconds, args.pause, office, args.seed,
                                                started))
                wall = time.perf_counter() - at["wall"]
                server_cpu = cpu_seconds(server.pid) - at["cpu"]
                client_cpu = time.process_time() - at["mine"]
            finally:
                server.terminate()
                server.wait(30)
            problems = verify(db, tally, units, folder)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    result = summary(tally, wall, server_cpu, client_cpu, problems, args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    failed = missed(result, args.p99)
    if failed:
        print("未达标：" + "；".join(failed), file=sys.stderr)
        return 1
    print(f"达标：无错误，无丢失，单位的页面与读取的 p99 不超过 {args.p99:g} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())
