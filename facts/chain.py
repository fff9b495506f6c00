"""The hash chain that makes changes to the store made without luoshi evident.

Three kinds of rows carry hashes, each computed in Python as the row is written:

- a record version's `row_hash`: sha256 of its content (kind, load, key, source, every field);
  once a later load ends it, `ended(row_hash, that load)`, so its `ended_by` is covered too;
- a load's `records_sha256`: sha256 of the sorted list of what it did to versions (each version
  it brought with its row hash, each version it ended with the load that had brought it);
- the links of the chain: every load and every recorded run in the order written (`chain_seq`
  1, 2, …), whose `chain_hash` is sha256 of (sequence number, previous link's hash, the row's
  content, and for a load its `records_sha256`).

The audit log (`audit_log`) has a chain of its own (`chain_seq` 1, 2, … and `chain_hash` over
each entry's content), written as each entry is: every login and download is an entry, and
linking them into the chain of loads would make each one wait for a load in progress. Pruning
entries past their retention deletes the oldest and writes an entry (action `prune`) naming the
last deleted link and its hash, from which the chain goes on.

`verify` recomputes all of it. It proves that nothing was changed, removed or inserted outside
luoshi since the chain head was written down: whoever can rewrite the database can also
recompute every hash, so the head has to be kept outside it (written down, signed).
The formulas are part of the stored format: migration 0004 uses them for the rows it finds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from .kinds import KINDS
from .problems import StoreError
from .tables import AUDIT_LOG, FACT_TABLES, LOAD_FILES, LOADS, POLICY_TEXTS, RUNS, key_sha256

GENESIS = "0" * 64
# A load's content, in the chain (its id, the chain's own columns and nothing else left out).
LOAD_FIELDS = ("id", "loaded_at", "tool_version", "files", "counts", "received_at",
               "submitted_by", "note", "scope", "scope_unit")
# An audit entry's content, in its chain (its id and the chain's own columns left out).
AUDIT_FIELDS = ("at", "user_name", "unit", "action", "outcome", "address", "detail")
RUN_FIELDS = ("id", "created_at", "tool_version", "year", "as_of", "inputs_sha256",
              "policies_sha256", "params", "waivers", "findings", "triggers", "load_id",
              "policy_files", "narrowing")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):  # SQLite gives UTC times back without their zone
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _sha(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


# One encoder, made once: a load hashes every version it writes (about 7 µs each).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_plain).encode


def version_hash(kind: str, load_id: int, key: str, source: str, fields: Any,
                 names: list[str] | None = None) -> str:
    """A version's content hash: its kind, load, key, source and the values of every field of
    the kind in the model's order (or in the order of `names`, a migration's reflected columns,
    which are the same); `fields` may hold others, which are ignored."""
    values = [fields[name] for name in names or _FIELDS[kind]]
    return hashlib.sha256(_ENCODE([kind, load_id, key, source, values]).encode()).hexdigest()


_FIELDS = {kind: list(model.model_fields) for kind, model in KINDS.items()}


def ended(row_hash: str | None, load_id: int) -> str:
    """The row hash of a version once load `load_id` has ended it."""
    return hashlib.sha256(f"{row_hash}:ended:{load_id}".encode()).hexdigest()


class RecordsDigest:
    """What one load did to record versions, hashed in an order that does not depend on the
    order of writing."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def brought(self, kind: str, key: str, row_hash: str) -> None:
        self.lines.append(f"+{kind}\t{key}\t{row_hash}")

    def ended(self, kind: str, key: str, brought_by: int) -> None:
        self.lines.append(f"-{kind}\t{key}\t{brought_by}")

    def hexdigest(self) -> str:
        digest = hashlib.sha256()
        for line in sorted(self.lines):
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()

    def manifest(self) -> bytes:
        """The load's manifest (zlib): which keys' versions it brought and ended, without their
        hashes, so that `verify` can name a version deleted later."""
        return compress("\n".join(sorted(manifest_lines(self.lines))).encode())


def manifest_lines(lines: list[str]) -> set[str]:
    """Digest lines without the hash of the versions brought."""
    return {line.rsplit("\t", 1)[0] if line[0] == "+" else line for line in lines}


def link_hash(kind: str, seq: int, previous: str, content: dict[str, Any],
              records_sha256: str | None = None) -> str:
    return _sha([kind, seq, previous, content, records_sha256])


def load_content(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in LOAD_FIELDS}


def run_content(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in RUN_FIELDS}


def audit_content(row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) if hasattr(row, name) else row[name]
            for name in AUDIT_FIELDS}


def audit_link(seq: int, previous: str, entry: Any) -> str:
    """The chain hash of audit entry `seq` (a row, or the dict of values it is written with)."""
    return link_hash("audit", seq, previous, audit_content(entry))


def head(connection: sa.Connection) -> tuple[int, str]:
    """The newest link's sequence number and hash (0 and the genesis hash in a new store)."""
    best: tuple[int, str] = (0, GENESIS)
    for table in (LOADS, RUNS):
        row = connection.execute(sa.select(table.c.chain_seq, table.c.chain_hash)
                                 .where(table.c.chain_seq.is_not(None))
                                 .order_by(table.c.chain_seq.desc()).limit(1)).first()
        if row is not None and row[0] is not None and row[0] > best[0]:
            best = (row[0], row[1] or GENESIS)
    return best


def shown(digest: str) -> str:
    """A hash as an office writes it down: 16 groups of 4 hex digits."""
    return " ".join(digest[start:start + 4] for start in range(0, len(digest), 4))


def compress(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def decompress(data: bytes) -> bytes:
    return zlib.decompress(data)


@dataclass
class Verdict:
    """What `verify` found: problems in Chinese (each naming its table, key or id, and load),
    the recorded runs among them (changed or inserted outside luoshi), the chain head, and how
    many rows were checked."""

    problems: list[str] = field(default_factory=list)
    runs_changed: set[int] = field(default_factory=set)
    head_seq: int = 0
    head_hash: str = GENESIS
    rows: int = 0
    audit_seq: int = 0  # the audit log's own chain head
    audit_hash: str = GENESIS


class ChainBroken(StoreError):
    """The hash chain is broken: what a new run would rest on may have been changed outside
    luoshi, so none is recorded."""

    code = "E603"

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"数据库的哈希链已断（{len(verdict.problems)} 处在 luoshi 之外的改动，"
                         "luoshi verify 列出）：这次检查所依据的数据可能已被改动，不予记录，"
                         "没有写入任何数据；查明改动（必要时从备份恢复）之后再记录")


def verify(connection: sa.Connection) -> Verdict:
    verdict = Verdict()
    loads = {row.id: row for row in connection.execute(sa.select(LOADS))}
    digests = {load_id: RecordsDigest() for load_id in loads}
    versions: dict[tuple[int, str, str], int] = {}  # (load, kind, "brought"/"ended") -> count
    named: set[tuple[str, str, int]] = set()  # versions named as inserted already
    for kind, model in KINDS.items():
        _verify_versions(connection, kind, list(model.model_fields), loads, digests, versions,
                         named, verdict)
    for load_id, load in loads.items():
        if load.records_sha256 is not None and digests[load_id].hexdigest() != load.records_sha256:
            verdict.problems.append(f"导入 {load_id}：它写入或结束的记录版本与当时不符")
            if load.manifest is not None:
                verdict.problems.extend(_manifest_gaps(load, digests[load_id], named))
            else:
                verdict.problems.extend(_counts_gap(load, versions))
        elif load.manifest is not None and \
                decompress(load.manifest).decode() != "\n".join(sorted(manifest_lines(digests[load_id].lines))):
            verdict.problems.append(f"导入 {load_id}：其版本清单在 luoshi 之外被改动")
    _verify_files(connection, loads, verdict)
    runs = list(connection.execute(sa.select(RUNS)))
    _verify_policy_texts(connection, runs, verdict)
    links: list[tuple[int, str, Any]] = []
    for load in loads.values():
        links.append((load.chain_seq, "load", load))
    for run in runs:
        links.append((run.chain_seq, "run", run))
    verdict.rows += len(links)
    for seq, what, row in links:
        if seq is None or row.chain_hash is None:
            verdict.problems.append(f"{_named(what, row)}：没有链上的哈希，是在 luoshi 之外插入的")
            if what == "run":
                verdict.runs_changed.add(row.id)
    chained = sorted(((seq, (what, row)) for seq, what, row in links
                      if seq is not None and row.chain_hash), key=lambda link: link[0])

    def expected(seq: int, previous: str, link: tuple[str, Any]) -> str:
        what, row = link
        content = load_content(row) if what == "load" else run_content(row)
        return link_hash(what, seq, previous, content,
                         row.records_sha256 if what == "load" else None)

    def damaged(link: tuple[str, Any]) -> None:
        if link[0] == "run":
            verdict.runs_changed.add(link[1].id)

    verdict.head_seq, verdict.head_hash = _walk(
        chained, (0, GENESIS), expected, lambda link: link[1].chain_hash,
        lambda link: _named(*link), "链上", "一次导入或检查记录被删除", verdict.problems, damaged)
    _verify_audit(connection, verdict)
    return verdict


def _walk(chained: list[tuple[int, Any]], start: tuple[int, str],
          expected: Any, stored: Any, named: Any, chain_name: str, gap: str,
          problems: list[str], damaged: Any = None) -> tuple[int, str]:
    """Follow links (sequence number, link) in order from `start` (the sequence number and hash
    before the first): each link's `stored` hash must be the `expected` one from its
    predecessor's; a number seen twice or skipped is named, and `damaged(link)` told of a
    link inserted or changed. Returns the head."""
    previous_seq, previous = start
    for seq, link in chained:
        if seq == previous_seq:
            problems.append(f"{named(link)}：{chain_name}第 {seq} 环重复，是在 luoshi 之外插入的")
            if damaged:
                damaged(link)
            continue
        if seq != previous_seq + 1:
            problems.append(f"{chain_name}第 {previous_seq + 1}–{seq - 1} 环缺失：{gap}")
        if expected(seq, previous, link) != stored(link):
            problems.append(f"{named(link)}：内容在 luoshi 之外被改动（{chain_name}第 {seq} 环）")
            if damaged:
                damaged(link)
        previous_seq, previous = seq, stored(link)
    return previous_seq, previous


PRUNED = "prune"  # the action of the entry pruning writes (web/audit.py)


def _verify_audit(connection: sa.Connection, verdict: Verdict) -> None:
    """The audit log's chain: each entry's hash from its predecessor's and its content, no
    link missing but those a pruning entry accounts for (the oldest, up to the link it names)."""
    entries = list(connection.execute(sa.select(AUDIT_LOG).order_by(AUDIT_LOG.c.chain_seq)))
    verdict.rows += len(entries)
    chained = []
    for entry in entries:
        if entry.chain_seq is None or entry.chain_hash is None:
            verdict.problems.append(f"审计日志第 {entry.id} 条：没有链上的哈希，是在 luoshi 之外插入的")
        else:
            chained.append(entry)
    pruned = [entry.detail for entry in chained if entry.action == PRUNED
              and isinstance(entry.detail, dict) and isinstance(entry.detail.get("through"), int)]
    start = (0, GENESIS)
    if chained and pruned:  # the newest pruning tells where the kept entries begin
        last = max(pruned, key=lambda detail: detail["through"])
        if chained[0].chain_seq > last["through"]:
            start = (last["through"], str(last.get("through_hash")))
    verdict.audit_seq, verdict.audit_hash = _walk(
        [(entry.chain_seq, entry) for entry in chained], start,
        lambda seq, previous, entry: audit_link(seq, previous, entry),
        lambda entry: entry.chain_hash, lambda entry: f"审计日志第 {entry.id} 条", "审计日志链上",
        "审计记录被删除（不是按保存期限清理的）", verdict.problems)


def _named(what: str, row: Any) -> str:
    return f"导入 {row.id}" if what == "load" else f"检查记录 {row.id}"


def _manifest_gaps(load: Any, digest: RecordsDigest, named: set[tuple[str, str, int]]) -> list[str]:
    """The versions a load's manifest lists that are not there, and those there that it does
    not list (less the rows named already as inserted)."""
    listed = set(decompress(load.manifest).decode().split("\n")) - {""}
    present = manifest_lines(digest.lines)
    gaps = []
    for line in sorted(listed - present):
        sign, kind, key, *brought = line[0], *line[1:].split("\t")
        if sign == "+":
            gaps.append(f"{kind} 表的记录 {key}（导入 {load.id} 写入的版本）：被删除")
        else:
            gaps.append(f"{kind} 表的记录 {key}（导入 {brought[0]} 写入的版本）：本由导入 {load.id} 结束，"
                        "该版本被删除或其“结束于”被改动")
    for line in sorted(present - listed):
        sign, kind, key, *brought = line[0], *line[1:].split("\t")
        if sign == "+" and (kind, key, load.id) not in named:
            gaps.append(f"{kind} 表的记录 {key}（导入 {load.id}）：不在该次导入的清单中，是在 luoshi 之外插入的")
        elif sign == "-":
            gaps.append(f"{kind} 表的记录 {key}（导入 {brought[0]} 写入的版本）：其“结束于”在 luoshi 之外"
                        f"被改为导入 {load.id}")
    return gaps


def _counts_gap(load: Any, versions: dict[tuple[int, str, str], int]) -> list[str]:
    """Which kinds' versions of a load are more or fewer than its counts say (a load whose
    manifest is missing)."""
    gaps: list[str] = []
    counts = load.counts if isinstance(load.counts, dict) else {}  # damaged: its hash tells
    for kind, count in counts.items():
        if kind not in KINDS or not isinstance(count, dict):
            continue
        for how, expected, label in (("brought", count.get("added", 0) + count.get("changed", 0),
                                      "写入"),
                                     ("ended", count.get("changed", 0) + count.get("removed", 0),
                                      "结束")):
            present = versions.get((load.id, kind, how), 0)
            if present < expected:
                gaps.append(f"{kind} 表{label}的版本少了 {expected - present} 行（被删除，"
                            "或其“结束于”被改动）")
            elif present > expected:
                gaps.append(f"{kind} 表{label}的版本多了 {present - expected} 行（在 luoshi 之外"
                            "插入，或其“结束于”被改动）")
    return [f"导入 {load.id}：{gap}" for gap in gaps]


def _verify_versions(connection: sa.Connection, kind: str, fields: list[str],
                     loads: dict[int, Any], digests: dict[int, RecordsDigest],
                     versions: dict[tuple[int, str, str], int], named: set[tuple[str, str, int]],
                     verdict: Verdict) -> None:
    table = FACT_TABLES[kind]
    statement = sa.select(table.c.version_id, table.c.record_key, table.c.key_sha256,
                          table.c.record_source, table.c.load_id, table.c.ended_by, table.c.row_hash,
                          *(table.c[name] for name in fields))
    for row in connection.execute(statement):
        verdict.rows += 1
        values = row._mapping
        content = version_hash(kind, row.load_id, row.record_key, row.record_source, values)
        expected = content if row.ended_by is None else ended(content, row.ended_by)
        where = f"{kind} 表的记录 {row.record_key}（版本 {row.version_id}，导入 {row.load_id} 写入）"
        if row.row_hash is None:
            verdict.problems.append(f"{where}：没有哈希，是在 luoshi 之外插入的")
            named.add((kind, row.record_key, row.load_id))
        elif row.row_hash != expected:
            verdict.problems.append(f"{where}：内容在 luoshi 之外被改动")
        if row.key_sha256 != key_sha256(row.record_key):  # it would hide or double the record
            verdict.problems.append(f"{where}：键的哈希在 luoshi 之外被改动")
        if row.load_id in digests:
            digests[row.load_id].brought(kind, row.record_key, content)
            versions[(row.load_id, kind, "brought")] = versions.get((row.load_id, kind, "brought"), 0) + 1
        if row.ended_by in digests:
            digests[row.ended_by].ended(kind, row.record_key, row.load_id)
            versions[(row.ended_by, kind, "ended")] = versions.get((row.ended_by, kind, "ended"), 0) + 1


def _verify_policy_texts(connection: sa.Connection, runs: list[Any], verdict: Verdict) -> None:
    """Each kept policy text gives its sha256; each run's policy files are kept."""
    kept = set()
    for row in connection.execute(sa.select(POLICY_TEXTS)):
        kept.add(row.sha256)
        try:
            data = decompress(row.content)
        except zlib.error:
            data = b""
        if hashlib.sha256(data).hexdigest() != row.sha256:
            verdict.problems.append(f"策略原文 {row.sha256[:12]}…：内容在 luoshi 之外被改动（sha256 不符）")
    for run in runs:
        for item in run.policy_files or []:
            if isinstance(item, dict) and item.get("sha256") not in kept:
                verdict.problems.append(f"检查记录 {run.id} 所用的策略文件 {item.get('name')}："
                                        "原文被删除")


def _verify_files(connection: sa.Connection, loads: dict[int, Any], verdict: Verdict) -> None:
    """The kept bytes of each load's files give the sha256 its log recorded."""
    kept: dict[int, dict[int, Any]] = {}
    for row in connection.execute(sa.select(LOAD_FILES)):
        kept.setdefault(row.load_id, {})[row.position] = row
    for load_id, load in loads.items():
        files = kept.get(load_id, {})
        if not files:
            continue  # loaded before files were kept
        if not isinstance(load.files, list) or not all(isinstance(item, dict) for item in load.files):
            verdict.problems.append(f"导入 {load_id}：文件清单已损坏，无法核对保存的文件")
            continue  # its link's hash names the change too
        for position, item in enumerate(load.files):
            kept_file = files.get(position)
            if kept_file is None:
                verdict.problems.append(f"导入 {load_id} 的文件 {item.get('path')}：保存的内容被删除")
                continue
            try:
                data = decompress(kept_file.content)
            except zlib.error:
                data = b""
            if hashlib.sha256(data).hexdigest() != item.get("sha256") or \
                    kept_file.path != item.get("path"):
                verdict.problems.append(f"导入 {load_id} 的文件 {item.get('path')}：保存的内容"
                                        "在 luoshi 之外被改动（sha256 不符）")
        for position in files.keys() - set(range(len(load.files or []))):
            verdict.problems.append(f"导入 {load_id}：多出的文件 {files[position].path}，"
                                    "是在 luoshi 之外插入的")
