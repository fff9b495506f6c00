"""Recorded runs of `check --record`: storing them, listing them, and comparing two.

Finding ids are a hash of rule, unit and subject, so the same problem has the same id in every
run: a finding closed and later reappearing is recognised as the same one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from . import chain, database
from .problems import DamagedRecord, InputError, Location, Problem
from .store import LOAD_LOCK, StoreError, describe_error, reading, shared_engine, verify
from .tables import POLICY_TEXTS, RUNS
from .version import tool_version


def record(db: str | None, *, year: int, as_of: dt.date, inputs_sha256: str,
           policies_sha256: str, params: dict[str, Any], waivers: list[dict[str, Any]],
           findings: list[dict[str, Any]], triggers: list[dict[str, Any]],
           load_id: int | None = None, policies: list[tuple[str, str, bytes]] | None = None,
           narrowing: dict[str, Any] | None = None) -> int:
    """Store a run, linked into the hash chain, if the chain is intact (else `ChainBroken`:
    what the run read may have been changed outside luoshi); `load_id`: the newest load of the
    state it read; `policies`: the policy files it used as (folder, name, bytes), kept by sha256 so
    that `rerun` can rebuild them; `narrowing`: the --select/--ignore/--unit/--shard it had."""
    engine = shared_engine(db)
    try:
        database.writable(engine)
        verdict = verify(db)  # before the lock: loads need not wait for it
        if verdict.problems:
            raise chain.ChainBroken(verdict)
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # the chain's next link: one at a time
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOAD_LOCK})
            listing = [{"folder": folder, "name": name, "sha256": _keep_text(connection, data)}
                       for folder, name, data in policies or []]
            run_id = connection.execute(sa.insert(RUNS).values(
                created_at=dt.datetime.now(dt.UTC), tool_version=tool_version(), year=year,
                as_of=as_of, inputs_sha256=inputs_sha256, policies_sha256=policies_sha256,
                params=params, waivers=waivers, findings=findings, triggers=triggers,
                load_id=load_id, policy_files=listing if policies is not None else None,
                narrowing=narrowing,
            ).returning(RUNS.c.id)).scalar_one()
            # Hashed as read back, which is what `verify` reads.
            stored = connection.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).one()
            seq, previous = chain.head(connection)
            connection.execute(sa.update(RUNS).where(RUNS.c.id == run_id).values(
                chain_seq=seq + 1,
                chain_hash=chain.link_hash("run", seq + 1, previous, chain.run_content(stored))))
            return run_id
    except SQLAlchemyError as error:
        raise StoreError(describe_error(error, engine)) from None


def _keep_text(connection: sa.Connection, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    if connection.scalar(sa.select(POLICY_TEXTS.c.sha256).where(POLICY_TEXTS.c.sha256 == digest)) is None:
        connection.execute(sa.insert(POLICY_TEXTS).values(sha256=digest, content=chain.compress(data)))
    return digest


def policy_texts(db: str | None, run: sa.Row[Any]) -> list[tuple[str, str, bytes]]:
    """The policy files run `run` used, as (folder, name, bytes)."""
    def read(connection: sa.Connection) -> list[tuple[str, str, bytes]]:
        result = []
        for item in run.policy_files or []:
            content = connection.scalar(sa.select(POLICY_TEXTS.c.content)
                                        .where(POLICY_TEXTS.c.sha256 == item["sha256"]))
            if content is None:
                raise StoreError(f"检查记录 {run.id} 所用的策略文件 {item['name']} 的原文已从数据库中删除"
                                 "（luoshi verify 查看）")
            result.append((item["folder"], item["name"], chain.decompress(content)))
        return result

    return reading(db, read)


def _sound(run: sa.Row[Any]) -> bool:
    """Whether a run has the shape every reader of it relies on."""
    if not (isinstance(run.findings, list) and isinstance(run.triggers, list)
            and isinstance(run.waivers, list) and isinstance(run.params, dict)
            and isinstance(run.created_at, dt.datetime) and isinstance(run.as_of, dt.date)
            and isinstance(run.year, int)
            and isinstance(run.policy_files, list | None)):
        return False
    return all(isinstance(finding, dict) and {"id", "rule", "severity", "subject"} <= finding.keys()
               for finding in run.findings) and \
        all(isinstance(trigger, dict) and "type" in trigger for trigger in run.triggers) and \
        all(isinstance(waiver, dict) for waiver in run.waivers)


def checked(*found: sa.Row[Any]) -> None:
    """Raise `DamagedRecord` for the first of the runs `found` that lost its shape; a reader
    checks the runs it uses, so one damaged run does not stop the use of the others."""
    damaged = next((run for run in found if not _sound(run)), None)
    if damaged is not None:
        raise DamagedRecord(f"检查记录 {damaged.id}")


def runs(db: str | None) -> list[sa.Row[Any]]:
    """Every recorded run, newest first (`checked` before use: they come as stored); none in a
    database not made yet."""
    return reading(db, lambda connection: list(connection.execute(
        sa.select(RUNS).order_by(RUNS.c.id.desc()))), empty=list)


def pick(all_runs: list[sa.Row[Any]], first: int | None, second: int | None) -> tuple[sa.Row[Any], sa.Row[Any]]:
    """The runs to compare: both given, or the two newest of the newest run's year."""
    by_id = {run.id: run for run in all_runs}
    if first is not None and second is not None:
        missing = [n for n in (first, second) if n not in by_id]
        if missing:
            raise InputError([Problem(Location("diff"), "C001",
                                      f"没有编号为 {missing[0]} 的检查记录（luoshi history 列出全部）")])
        return by_id[first], by_id[second]
    if not all_runs:
        raise InputError([Problem(Location("diff"), "C001", "还没有记录的检查（用 check --record 记录）")])
    newest = all_runs[0]
    same_year = [run for run in all_runs if run.year == newest.year]
    if len(same_year) < 2:
        raise InputError([Problem(Location("diff"), "C001",
                                  f"{newest.year} 年只有一次记录的检查，无法比较")])
    return same_year[1], same_year[0]


def compare(older: sa.Row[Any], newer: sa.Row[Any]) -> dict[str, list[dict[str, Any]]]:
    before = {finding["id"]: finding for finding in older.findings}
    after = {finding["id"]: finding for finding in newer.findings}
    return {
        "new": [after[key] for key in after if key not in before],
        "resolved": [before[key] for key in before if key not in after],
        "open": [after[key] for key in after if key in before],
    }


def _waived(run: Any, finding: dict[str, Any]) -> bool:
    """Whether one of the run's waivers, valid on its check day, covers the finding."""
    for waiver in run.waivers:
        if (waiver.get("rule"), waiver.get("unit"), waiver.get("subject")) != \
                (finding["rule"], finding.get("unit"), finding.get("subject")):
            continue
        expires = waiver.get("expires")
        if expires is None or str(expires) >= run.as_of.isoformat():
            return True
    return False


def _records(finding: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The records a finding rests on, by kind and id (where they were read may move)."""
    return [(item.get("kind"), item.get("id")) for item in finding.get("evidence") or []]


def _gist(finding: dict[str, Any]) -> tuple[Any, ...]:
    return finding.get("severity"), finding.get("message"), _records(finding)


def reasons(older: Any, newer: Any,
            edited: Collection[int] = ()) -> dict[str, list[dict[str, Any]]]:
    """The changes between two runs, each finding with why it changed; when one of them is
    among the runs `edited` outside luoshi, its content cannot tell why, and the reason says so."""
    before = {finding["id"]: finding for finding in older.findings}
    after = {finding["id"]: finding for finding in newer.findings}
    policies = older.policies_sha256 != newer.policies_sha256
    data = older.inputs_sha256 != newer.inputs_sha256
    changed_params = {name for name in {*older.params, *newer.params}
                      if older.params.get(name) != newer.params.get(name)}

    def policy_reason(rule: str) -> str | None:
        """What changed in how `rule` is judged: the policy files, or its parameters (its own,
        or the shared ones, which any rule may use)."""
        if policies:
            return "策略已更改"
        if any(name.startswith(f"{rule}.") or "." not in name for name in changed_params):
            return "参数已更改"
        return None

    def why(finding: dict[str, Any], appeared: bool) -> str:
        if appeared and _waived(older, finding) and not _waived(newer, finding):
            return "豁免已到期或撤销"
        if not appeared and _waived(newer, finding) and not _waived(older, finding):
            return "已豁免"
        policy = policy_reason(finding["rule"])
        if policy and data:
            return f"记录有变化，且{policy}"
        if policy or data:
            return policy or "记录有变化"
        if older.as_of != newer.as_of:
            return "检查日不同"
        return "原因不明（数据与策略都相同）"

    changed = []
    for key in after:
        if key in before and _gist(after[key]) != _gist(before[key]):
            record = _records(after[key]) != _records(before[key])
            policy = policy_reason(after[key]["rule"])
            changed.append({**after[key], "reason": "相关记录有变化" if record or not policy
                            else policy})
    result = {
        "new": [{**after[key], "reason": why(after[key], True)} for key in after if key not in before],
        "resolved": [{**before[key], "reason": why(before[key], False)}
                     for key in before if key not in after],
        "changed": changed,
        "open": [after[key] for key in after if key in before],
    }
    changed_outside = sorted(set(edited) & {older.id, newer.id})
    if changed_outside:
        unknown = f"检查记录 {'、'.join(map(str, changed_outside))} 在 luoshi 之外被改动，原因无法判断"
        for section in ("new", "resolved", "changed"):
            result[section] = [{**finding, "reason": unknown} for finding in result[section]]
    return result
