"""Tamper evidence, kept files, reruns and F407 over the store: SQLite and PostgreSQL.

`luoshi verify` recomputes the hash chain over loads, record versions, kept files and runs and
names every row changed, removed or inserted outside luoshi; `submissions --files` gives back
the bytes a unit sent; `rerun` evaluates a recorded run again on its state and policies."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.engine.language.policy import builtin_folder
from luoshi.facts import store
from luoshi.facts.kinds import KINDS
from luoshi.facts.tables import key_sha256

from .test_versions import findings, load_like_revision_0002, read_like_revision_0002, upgrade

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def sql(url: str, statement: str, **params) -> list:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        result = connection.execute(sa.text(statement), params)
        rows = result.all() if result.returns_rows else []
    engine.dispose()
    return rows


def loaded(example_path: Path, url: str) -> None:
    assert invoke("load", str(example_path), "--db", url, "--received", "2013-05-01").exit_code == 0
    result = invoke("check", "--db", url, "--year", "2013", "--record", "--format", "json",
                    "--fail-on", "never")
    assert result.exit_code == 0, result.output


# ---- verify ---------------------------------------------------------------------------------

def test_an_intact_store_verifies_and_shows_its_head(example_path, db_url):
    loaded(example_path, db_url)
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    (head,) = [line for line in result.stdout.splitlines() if line.startswith("链头")]
    groups = head.split("：", 1)[1].split()
    assert len(groups) == 16 and all(len(group) == 4 for group in groups)
    newest = sql(db_url, "SELECT chain_hash FROM runs WHERE id = 1")[0][0]
    assert "".join(groups) == newest  # the run was the newest link


def test_a_fact_value_edited_in_sql_is_named(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "UPDATE rectifications SET problem = 'x' WHERE record_key = 'cb-rect01'")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert "rectifications 表的记录 cb-rect01（版本" in result.stdout
    assert "导入 1 写入）：内容在 luoshi 之外被改动" in result.stdout
    assert "警告：数据库的哈希链已断" in invoke("history", "--db", db_url).stderr


def test_a_deleted_row_is_named_with_its_table_and_load(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "DELETE FROM units WHERE record_key = 'cb-gh'")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert "导入 1：它写入或结束的记录版本与当时不符" in result.stdout
    assert "units 表的记录 cb-gh（导入 1 写入的版本）：被删除" in result.stdout


def test_an_inserted_row_is_named(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "INSERT INTO education (record_key, key_sha256, record_source, load_id, unit, "
                f"date, title) VALUES ('k', '{key_sha256('k')}', 'x', 1, 'cb-gh', '2013-06-01', "
                "'forged')")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert "education 表的记录 k" in result.stdout and "在 luoshi 之外插入" in result.stdout
    assert "不在该次导入的清单中" not in result.stdout  # named once


def test_a_keys_hash_changed_is_named(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, f"UPDATE units SET key_sha256 = '{key_sha256('x')}' WHERE record_key = 'cb-gh'")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert "units 表的记录 cb-gh（版本" in result.stdout and "键的哈希在 luoshi 之外被改动" in result.stdout


def test_a_runs_findings_edited_are_named_and_rerun_warns(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "UPDATE runs SET findings = '[]' WHERE id = 1")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert "检查记录 1：内容在 luoshi 之外被改动（链上第 2 环）" in result.stdout
    rerun = invoke("rerun", "1", "--db", db_url)
    assert rerun.exit_code == 1 and "警告：数据库的哈希链已断" in rerun.stderr


def test_check_record_refuses_facts_edited_outside_luoshi(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "UPDATE units SET name = '改过的名字' WHERE record_key = 'cb-gh'")
    runs = len(sql(db_url, "SELECT id FROM runs"))
    result = invoke("check", "--db", db_url, "--year", "2013", "--record", "--format", "json")
    assert result.exit_code == 2, result.output
    assert "E603" in result.stderr and "哈希链已断" in result.stderr and "不予记录" in result.stderr
    assert result.stdout == ""  # no findings printed as if they were sound
    assert len(sql(db_url, "SELECT id FROM runs")) == runs
    plain = invoke("check", "--db", db_url, "--year", "2013", "--format", "json")
    assert plain.exit_code == 1  # checking without recording still runs


def test_the_portal_records_no_check_on_a_broken_chain(example_path, tmp_path):
    from .portal import app_for as portal_app
    from .portal import login, make_store

    db = make_store(tmp_path)
    sql(db, "UPDATE misconduct SET date = '2013-01-02' WHERE load_id = 1")
    office = login(portal_app(db), "office1")
    answer = office.post("/api/runs", json={"year": 2013}, headers={"x-csrf-token": office.csrf})
    assert answer.status_code == 409 and "哈希链已断" in answer.json()["detail"], answer.text
    assert sql(db, "SELECT count(*) FROM runs")[0][0] == 0


def test_diff_names_a_compared_run_edited_outside_luoshi(example_path, db_url):
    loaded(example_path, db_url)
    assert invoke("check", "--db", db_url, "--year", "2013", "--record").exit_code == 1
    findings = sql(db_url, "SELECT findings FROM runs WHERE id = 2")[0][0]
    findings = json.loads(findings) if isinstance(findings, str) else findings
    dropped = findings.pop(0)
    sql(db_url, "UPDATE runs SET findings = :f WHERE id = 2",
        f=json.dumps(findings, ensure_ascii=False))
    result = invoke("diff", "--db", db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "比较的检查记录 2 在 luoshi 之外被改动" in result.stderr
    resolved = json.loads(result.stdout)["resolved"]
    assert [(f["id"], f["reason"]) for f in resolved] == [
        (dropped["id"], "检查记录 2 在 luoshi 之外被改动，原因无法判断")]
    table = invoke("diff", "--db", db_url)
    assert "原因无法判断" in table.stdout and "原因不明" not in table.stdout
    sql(db_url, "UPDATE runs SET findings = :f WHERE id = 2",  # put back: intact again
        f=json.dumps([dropped, *findings], ensure_ascii=False))
    intact = invoke("diff", "--db", db_url, "--format", "json")
    assert intact.stderr == "" and json.loads(intact.stdout)["resolved"] == []


def test_a_removed_link_and_a_changed_ended_by_are_found(example_path, tmp_path, db_url):
    loaded(example_path, db_url)
    changed = yaml.safe_load(example_path.read_text(encoding="utf-8"))
    changed["units"][0]["name"] = "改名"
    path = tmp_path / "second.yaml"
    path.write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    assert invoke("load", str(path), "--db", db_url).exit_code == 0
    assert invoke("verify", "--db", db_url).exit_code == 0
    key = changed["units"][0]["id"]
    sql(db_url, "UPDATE units SET ended_by = 1 WHERE record_key = :k AND load_id = 1", k=key)
    sql(db_url, "DELETE FROM runs WHERE id = 1")
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1
    assert f"units 表的记录 {key}（版本" in result.stdout  # its ended_by was changed
    assert "链上第 2–2 环缺失" in result.stdout


def test_a_load_of_the_migration_and_later_loads_chain_on(example_path, minimal_path, db_url):
    """Loads and runs interleave in one chain; the head moves with each."""
    loaded(example_path, db_url)
    assert invoke("load", str(minimal_path), "--db", db_url).exit_code == 0
    rows = sql(db_url, "SELECT chain_seq FROM loads ORDER BY id")
    assert [row[0] for row in rows] == [1, 3]
    assert invoke("verify", "--db", db_url).exit_code == 0


# ---- kept files ---------------------------------------------------------------------------------

def test_submitted_files_come_back_byte_for_byte(example_path, tmp_path, db_url):
    from luoshi.facts import export
    from luoshi.facts.validate import read_facts

    source = tmp_path / "in"
    export.write_csv(read_facts([str(example_path)])[0], source, chinese=True, encoding="gb18030")
    result = invoke("load", str(source), "--db", db_url)
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    result = invoke("submissions", "--db", db_url, "--files", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    originals = sorted(p for p in source.rglob("*") if p.is_file())
    back = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(back) == len(originals) >= 1
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in originals}
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in back} == digest
    missing = invoke("submissions", "--db", db_url, "--files", "9", "--out", str(out))
    assert missing.exit_code == 2 and "没有编号为 9 的导入" in missing.stderr


def test_kept_bytes_changed_in_sql_are_found(example_path, tmp_path, db_url):
    assert invoke("load", str(example_path), "--db", db_url).exit_code == 0
    import zlib

    sql(db_url, "UPDATE load_files SET content = :c", c=zlib.compress(b"units: []\n"))
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 1 and "保存的内容在 luoshi 之外被改动" in result.stdout
    back = invoke("submissions", "--db", db_url, "--files", "1", "--out", str(tmp_path / "o"))
    assert back.exit_code == 2 and "sha256" in back.stderr


# ---- rerun --------------------------------------------------------------------------------------

def test_a_recorded_run_reruns_identically_after_later_loads(example_path, minimal_path, db_url):
    loaded(example_path, db_url)
    assert invoke("load", str(minimal_path), "--db", db_url, "--replace").exit_code == 0
    result = invoke("rerun", "1", "--db", db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["identical"] and data["inputs_identical"] and data["load_id"] == 1
    assert "完全相同" in invoke("rerun", "1", "--db", db_url).stdout


def test_a_rerun_uses_the_recorded_user_policies_and_params(example_path, tmp_path, db_url):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "terms.yaml").write_text("params: {accountability_days: 10}\noverride: [accountability_days]\n",
                                       encoding="utf-8")
    assert invoke("load", str(example_path), "--db", db_url).exit_code == 0
    result = invoke("check", "--db", db_url, "--year", "2013", "--record", "--policies", str(folder),
                    "--param", "I201.min=3", "--select", "I2,F4", "--format", "json", "--fail-on", "never")
    assert result.exit_code == 0, result.output
    shutil.rmtree(folder)  # gone: the rerun needs only what the run kept
    result = invoke("rerun", "1", "--db", db_url, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["identical"]


def test_a_rerun_reports_differences_in_chinese_and_json(example_path, db_url):
    loaded(example_path, db_url)
    forged = sql(db_url, "SELECT findings FROM runs WHERE id = 1")[0][0]
    forged = json.loads(forged) if isinstance(forged, str) else forged
    dropped = forged.pop(0)
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE runs SET findings = :f WHERE id = 1"),
                           {"f": json.dumps(forged, ensure_ascii=False)})
    engine.dispose()
    result = invoke("rerun", "1", "--db", db_url, "--format", "json")
    assert result.exit_code == 1
    assert [f["id"] for f in json.loads(result.stdout)["findings"]["new"]] == [dropped["id"]]
    table = invoke("rerun", "1", "--db", db_url)
    assert table.exit_code == 1 and "复算新出现的问题（1）" in table.stdout


def test_a_run_recorded_before_policy_texts_were_kept(example_path, db_url):
    loaded(example_path, db_url)
    sql(db_url, "UPDATE runs SET policy_files = NULL")
    assert invoke("rerun", "1", "--db", db_url).exit_code == 0  # the current policies match
    sql(db_url, "UPDATE runs SET policies_sha256 = :s", s="0" * 64)
    result = invoke("rerun", "1", "--db", db_url)
    assert result.exit_code == 2 and "早于保存策略原文" in result.stderr
    assert invoke("rerun", "7", "--db", db_url).exit_code == 2


def test_identical_catalogs_are_stored_once(example_path, db_url):
    loaded(example_path, db_url)
    for _ in range(2):
        assert invoke("check", "--db", db_url, "--year", "2013", "--record", "--format", "json",
                      "--fail-on", "never").exit_code == 0
    count = sql(db_url, "SELECT count(*) FROM policy_texts")[0][0]
    assert count == len(list(builtin_folder().glob("*.yaml")))


# ---- F407 over the store -------------------------------------------------------------------------

UNIT = {"units": [{"id": "u-1", "name": "市教育局", "kind": "department"}]}


def _submit(tmp_path: Path, url: str, name: str, received: str, rectification: dict) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**UNIT, "rectifications": [rectification]}, allow_unicode=True),
                    encoding="utf-8")
    result = invoke("load", str(path), "--db", url, "--received", received)
    assert result.exit_code == 0, result.output


def _f407(url: str, *extra: str) -> list[dict]:
    result = invoke("check", "--db", url, "--year", "2013", "--format", "json", "--fail-on", "never",
                    "--select", "F407", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["findings"]


def test_f407_a_close_out_dated_before_a_submission_still_open(tmp_path, db_url):
    open_ = {"id": "rect-1", "unit": "u-1", "problem": "收费公示栏未设置", "deadline": "2013-11-30"}
    _submit(tmp_path, db_url, "first", "2013-10-10", open_)
    _submit(tmp_path, db_url, "second", "2013-11-20", {**open_, "closed_on": "2013-10-01"})
    (finding,) = _f407(db_url)
    assert finding["subject"] == "rect-1" and finding["severity"] == "error"
    assert "2013-10-01" in finding["message"] and "第 1 次导入" in finding["message"]
    evidence = {(item["kind"], item["id"]) for item in finding["evidence"]}
    assert {("rectification_versions", "rect-1/1"), ("rectification_versions", "rect-1/2")} <= evidence
    assert _f407(db_url, "--known-at", "1") == []  # before the close-out was submitted


def test_f407_an_honest_close_out_is_silent(tmp_path, db_url):
    open_ = {"id": "rect-1", "unit": "u-1", "problem": "收费公示栏未设置", "deadline": "2013-11-30"}
    _submit(tmp_path, db_url, "first", "2013-10-10", open_)
    _submit(tmp_path, db_url, "second", "2013-11-20", {**open_, "closed_on": "2013-10-15"})
    assert _f407(db_url) == []


def test_the_history_kind_cannot_be_submitted(tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("rectification_versions: [{rectification: r, load: 1, received: 2013-01-01}]\n",
                    encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    schema = invoke("schema").stdout
    assert "rectification_versions" not in schema and "rectification_versions" not in KINDS


# ---- migration ------------------------------------------------------------------------------------

def test_a_database_of_revision_0003_migrates_with_its_chain_computed(example_path, db_url):
    upgrade(db_url, "0002")
    load_like_revision_0002(db_url, example_path)
    upgrade(db_url, "0003")
    sql(db_url, "INSERT INTO runs (created_at, tool_version, year, as_of, inputs_sha256, "
                "policies_sha256, params, waivers, findings, triggers) VALUES "
                "('2013-06-01 00:00:00', '0.1.0', 2013, '2013-12-31', 'x', 'y', '{}', '[]', '[]', '[]')")
    before = findings(read_like_revision_0002(db_url))
    engine = store.connect(db_url)
    store.migrate(engine)
    engine.dispose()
    assert findings(store.read_rows(db_url)) == before
    result = invoke("verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert sql(db_url, "SELECT chain_seq FROM runs")[0][0] == 2
    reviews = sql(db_url, "SELECT record_key, outcome FROM reviews")
    assert reviews and all(json.loads(key)[3] == outcome for key, outcome in reviews)
    assert invoke("load", str(example_path), "--db", db_url).exit_code == 0  # and chains on
    assert invoke("verify", "--db", db_url).exit_code == 0
