"""`luoshi rerun RUN_ID [--db URL] [--format table|json]`: a recorded check evaluated again.

The run is evaluated on the state it recorded (right after its load, as `check --known-at`),
with the policy files it recorded (rebuilt from their texts, kept by sha256), its parameters,
waivers, year, as-of date and narrowing. Exit 0 when findings and triggers are identical, 1
with the differences. A run recorded before policy texts were kept reruns with the current
policies only if their sha256 is the one it recorded.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from luoshi.facts.problems import InputError, Location, Problem

from .console import exit_on_errors, out
from .load import DbOption


def rerun(
    run_id: Annotated[int, typer.Argument(help="检查记录的编号（luoshi history 列出全部）")],
    db: DbOption = None,
    output_format: Annotated[str, typer.Option("--format", help="table 或 json")] = "table",
) -> None:
    """按一次记录过的检查当时的数据（其导入编号）与策略（当时的策略原文、参数、豁免）重新检查：
    结果与记录完全相同时退出状态 0，否则退出状态 1 并列出差异。"""
    from luoshi.engine.plan.compile import compile_catalog
    from luoshi.engine.runtime import run as engine_run
    from luoshi.engine.runtime.waivers import Waiver
    from luoshi.facts import history
    from luoshi.facts.factset import facts_sha256
    from luoshi.facts.inputs import read_input
    from luoshi.outputs.formats import json_format

    from .verify import warn_if_broken

    with exit_on_errors():
        if output_format not in ("table", "json"):
            raise InputError([Problem(Location("--format"), "C001", "应为 table 或 json")])
        recorded = {run.id: run for run in history.runs(db)}.get(run_id)
        if recorded is None:
            raise InputError([Problem(Location("rerun"), "C001",
                                      f"没有编号为 {run_id} 的检查记录（luoshi history 列出全部）")])
        history.checked(recorded)
        warn_if_broken(db)
        if recorded.load_id is None:
            raise InputError([Problem(Location(f"检查记录 {run_id}"), "C001",
                                      "这条记录早于保存导入编号的 luoshi 版本，不知道当时读的是哪次导入后的数据，"
                                      "无法复算")])
        with tempfile.TemporaryDirectory(prefix="luoshi-rerun-") as folder:
            catalog = _recorded_catalog(db, recorded, Path(folder))
            program = compile_catalog(catalog, recorded.params)
        narrowing = recorded.narrowing or {}
        shard = tuple(narrowing["shard"]) if narrowing.get("shard") else None
        # The scope the run read: a shard's units, or --unit's (as `check` reads them).
        scope = narrowing.get("unit") if not shard else None
        rows = read_input(None, db, program=program, shard=shard, known_at=recorded.load_id,
                          units=scope)
        waivers = [(Waiver.model_validate(item), Location(f"检查记录 {run_id} 的豁免"))
                   for item in recorded.waivers]
        report = engine_run.check(rows, program, recorded.year, recorded.as_of, waivers=waivers,
                                  shard=shard, units=scope)
        report = engine_run.narrow(report, narrowing.get("select"), narrowing.get("ignore"),
                                   narrowing.get("unit"), shard)
        data = json_format.as_data(report)
        result = differences(recorded, data["findings"], data["triggers"])
        result["inputs_identical"] = facts_sha256(rows) == recorded.inputs_sha256
    if output_format == "json":
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        _print(result)
    if not result["identical"]:
        raise typer.Exit(1)


def _recorded_catalog(db: str | None, recorded: Any, folder: Path) -> Any:
    """The catalog the run used: from its kept policy texts, or (a run recorded before they
    were kept) the current policies if their sha256 is the recorded one."""
    from luoshi.engine.language.policy import load_catalog
    from luoshi.facts import history

    if recorded.policy_files is None:
        catalog = load_catalog()
        if catalog.sha256() != recorded.policies_sha256:
            raise InputError([Problem(Location(f"检查记录 {recorded.id}"), "C001",
                                      "这条记录早于保存策略原文的 luoshi 版本，而现行策略（sha256 "
                                      f"{catalog.sha256()[:12]}…）与记录时（{recorded.policies_sha256[:12]}…）"
                                      "不同，无法按当时的策略复算")])
        return catalog
    user_folders: list[str] = []
    for where, file_name, data in history.policy_texts(db, recorded):
        target = folder / where.replace(" ", "_")
        target.mkdir(exist_ok=True)
        (target / file_name).write_bytes(data)
        if where != "builtin" and str(target) not in user_folders:
            user_folders.append(str(target))
    (folder / "builtin").mkdir(exist_ok=True)
    catalog = load_catalog(user_folders, builtin=folder / "builtin")
    if catalog.sha256() != recorded.policies_sha256:
        raise InputError([Problem(Location(f"检查记录 {recorded.id}"), "C001",
                                  "由保存的策略原文重建的策略与记录的 sha256 不符，无法复算")])
    return catalog


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def differences(recorded: Any, findings: list[dict[str, Any]],
                triggers: list[dict[str, Any]]) -> dict[str, Any]:
    """What the rerun gives that the record does not, and the reverse; findings by id."""
    before = {finding["id"]: finding for finding in recorded.findings}
    after = {finding["id"]: finding for finding in findings}
    changed = [{"id": key, "recorded": before[key], "rerun": after[key]}
               for key in before.keys() & after.keys()
               if _canonical(before[key]) != _canonical(after[key])]
    old_triggers = {_canonical(trigger): trigger for trigger in recorded.triggers}
    new_triggers = {_canonical(trigger): trigger for trigger in triggers}
    result: dict[str, Any] = {
        "run": recorded.id, "load_id": recorded.load_id,
        "findings": {"missing": [before[key] for key in sorted(before.keys() - after.keys())],
                     "new": [after[key] for key in sorted(after.keys() - before.keys())],
                     "changed": sorted(changed, key=lambda item: item["id"])},
        "triggers": {"missing": [old_triggers[key] for key in sorted(old_triggers.keys() - new_triggers.keys())],
                     "new": [new_triggers[key] for key in sorted(new_triggers.keys() - old_triggers.keys())]},
    }
    result["identical"] = not any(result["findings"].values()) and not any(result["triggers"].values())
    return result


def _print(result: dict[str, Any]) -> None:
    findings, triggers = result["findings"], result["triggers"]
    head = f"复算检查记录 {result['run']}（第 {result['load_id']} 次导入之后的数据，当时的策略与参数）："
    if not result["inputs_identical"]:
        out.print(Text("注意：所读数据与记录时的 sha256 不同，数据库中那次导入之后的数据已被改动（luoshi verify 查看）。"))
    if result["identical"]:
        out.print(Text(head + "问题与问责触发与记录完全相同。"))
        return
    out.print(Text(head + f"与记录不同：复算新出现 {len(findings['new'])} 条问题、少了 "
                   f"{len(findings['missing'])} 条、{len(findings['changed'])} 条内容不同；问责触发新出现 "
                   f"{len(triggers['new'])} 条、少了 {len(triggers['missing'])} 条。"))
    for key, label in (("new", "复算新出现的问题"), ("missing", "记录中有、复算没有的问题")):
        _listing(label, findings[key], {"编号": "id", "规则": "rule", "单位": "unit",
                                        "对象": "subject", "问题": "message"})
    if findings["changed"]:
        table = Table(title=f"内容不同的问题（{len(findings['changed'])}）", title_justify="left")
        for column in ("编号", "规则", "记录的", "复算的"):
            table.add_column(column, overflow="fold")
        for item in findings["changed"]:
            table.add_row(Text(item["id"]), Text(item["recorded"]["rule"]),
                          Text(item["recorded"].get("message", "")), Text(item["rerun"].get("message", "")))
        out.print(table)
    for key, label in (("new", "复算新出现的问责触发"), ("missing", "记录中有、复算没有的问责触发")):
        _listing(label, triggers[key], {"规则": "rule", "类型": "type", "依据": "basis",
                                        "对象单位": "target_unit", "期限": "due"})


def _listing(label: str, items: list[dict[str, Any]], columns: dict[str, str]) -> None:
    """A titled table of findings or triggers (column title -> field), if there are any."""
    if not items:
        return
    table = Table(title=f"{label}（{len(items)}）", title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(*(Text(str(item.get(name) or "")) for name in columns.values()))
    out.print(table)
