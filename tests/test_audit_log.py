"""The audit log as 等保 2.0 level 3 asks (issue 21, item 4): complete, paged and filtered in the
portal and by `luoshi audit`, never silently cut short, covered by a hash chain that `luoshi
verify` checks, and pruned past its retention without breaking that chain."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from luoshi.cli.main import app as cli
from luoshi.facts import store
from luoshi.facts.problems import InputError
from luoshi.facts.tables import AUDIT_LOG
from luoshi.web import audit

from .portal import app_for, login, make_store

runner = CliRunner()


@pytest.fixture
def fresh(tmp_path):
    db = make_store(tmp_path)
    return db, app_for(db)


def _downloads(db: str) -> int:
    return audit.count(store.connect(db), audit.Filter(action="download"))


def test_a_head_request_is_not_a_download(fresh):
    db, app = fresh
    unit = login(app, "caizheng")
    assert unit.client.head("/template.xlsx").status_code == 200
    assert _downloads(db) == 0
    assert unit.get("/template.xlsx").status_code == 200
    assert _downloads(db) == 1


def test_a_units_real_submission_is_not_pushed_off_by_refused_ones(fresh):
    """The page showed the newest 500 entries and nothing else: 500 refused submissions (a
    script, or a clerk's bad afternoon) hid the unit's accepted one for good. Now every entry is
    reachable: counted, paged, filtered by account, unit, action and day."""
    db, app = fresh
    unit = login(app, "caizheng")
    accepted = unit.post("/api/submissions", headers={"x-csrf-token": unit.csrf},
                         files=[("files", ("t.xlsx", unit.get("/template.xlsx").content))])
    assert accepted.status_code == 201
    engine = store.connect(db)
    for _ in range(500):
        audit.write(engine, "submission", "refused", who="caizheng", address="10.1.1.1",
                    unit="cb-cz", files=["bad.xlsx"], problems=3)
    auditor = login(app, "auditor1")
    page = auditor.get("/audit").text
    total = audit.count(engine) - 1  # less the entry of this reading, written after it
    assert f"共 {total} 条" in page and total > 500 and 'rel="next"' in page
    last = auditor.get(f"/audit?page={-(-total // 100)}").text
    assert "成功" in last and "报送" in last
    found = auditor.get("/audit?unit=cb-cz&action=submission&user=caizheng").text
    assert "共 501 条" in found
    ok = [entry for entry in audit.entries(engine, audit.Filter(unit="cb-cz", action="submission"))
          if entry.outcome == "ok"]
    assert len(ok) == 1 and ok[0].detail["load"] == accepted.json()["id"]
    assert "共 0 条" in auditor.get("/audit?until=2000-01-01").text
    today = dt.date.today().isoformat()
    assert f"共 {audit.count(engine)} 条" in auditor.get(f"/audit?since={today}&until={today}").text
    assert "起始日期应为日期" in auditor.get("/audit?since=yesterday").text
    exported = auditor.get("/audit.csv?unit=cb-cz&action=submission")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "时间", "用户"] and len(rows) == 502
    listed = json.loads(auditor.get("/audit.json?action=submission&unit=cb-cz").content)
    assert len(listed) == 501 and {"chain_seq", "chain_hash", "detail"} <= set(listed[0])


def test_luoshi_audit_lists_every_entry_with_filters_as_csv_or_json(fresh):
    db, app = fresh
    login(app, "caizheng").get("/template.xlsx")
    engine = store.connect(db)
    audit.write(engine, "login_failed", "refused", who="=HYPERLINK(\"http://x\")", address="10.0.0.1")
    as_json = runner.invoke(cli, ["audit", "--user", "caizheng", "--format", "json", "--db", db])
    assert as_json.exit_code == 0, as_json.output
    entries = json.loads(as_json.stdout)
    assert {entry["action"] for entry in entries} == {"login", "download"}
    assert all(entry["user"] == "caizheng" for entry in entries)
    as_csv = runner.invoke(cli, ["audit", "--action", "login_failed", "--format", "csv", "--db", db])
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 2 and rows[1][2].startswith("'=")  # a spreadsheet shows it as text
    dated = runner.invoke(cli, ["audit", "--since", "2000-01-01", "--until", "2000-12-31",
                                "--format", "json", "--db", db])
    assert json.loads(dated.stdout) == []
    table = runner.invoke(cli, ["audit", "--db", db])
    assert table.exit_code == 0 and "下载" in table.stdout and "内容：报送模板" in table.stdout
    for args, words in ((["--since", "昨天"], "应为日期"), (["--action", "nope"], "未知的操作"),
                        (["--format", "xml"], "table、csv 或 json")):
        refused = runner.invoke(cli, ["audit", *args, "--db", db])
        assert refused.exit_code == 2 and words in refused.output, refused.output
    # reading the log is itself in the log
    assert audit.count(engine, audit.Filter(action="audit")) >= 4


def test_the_audit_log_is_chained_and_verify_finds_what_was_changed(fresh):
    db, app = fresh
    login(app, "caizheng").get("/template.xlsx")
    verdict = store.verify(db)
    assert verdict.problems == [] and verdict.audit_seq == audit.count(store.connect(db))
    shown = runner.invoke(cli, ["verify", "--db", db])
    assert shown.exit_code == 0 and "审计日志" in shown.stdout
    engine = store.connect(db)
    with engine.begin() as connection:
        connection.execute(sa.update(AUDIT_LOG).where(AUDIT_LOG.c.action == "download")
                           .values(user_name="someone-else"))
    assert any("内容在 luoshi 之外被改动" in problem for problem in store.verify(db).problems)
    audit.write(engine, "logout", who="caizheng", address="10.0.0.1")  # the download is not the last
    with engine.begin() as connection:
        connection.execute(sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.action == "download"))
    problems = store.verify(db).problems
    assert any("缺失" in problem for problem in problems), problems
    assert runner.invoke(cli, ["verify", "--db", db]).exit_code == 1


def test_pruning_past_the_retention_is_recorded_and_keeps_the_chain_sound(fresh, monkeypatch):
    db, app = fresh
    login(app, "caizheng")
    engine = store.connect(db)
    old = audit.count(engine)
    later = audit.now() + dt.timedelta(days=181)
    monkeypatch.setattr(audit, "now", lambda: later)
    audit.write(engine, "logout", who="caizheng", address="10.0.0.1")
    assert audit.prune(engine, 180) == old
    assert audit.count(engine) == 2  # the logout, and the pruning
    pruned = audit.entries(engine, audit.Filter(action="prune"))[0]
    assert pruned.detail["rows"] == old and pruned.detail["days"] == 180
    assert store.verify(db).problems == []
    assert audit.prune(engine, 180) == 0
    # entries deleted without a pruning entry are found
    with engine.begin() as connection:
        connection.execute(sa.delete(AUDIT_LOG).where(AUDIT_LOG.c.action == "logout"))
    assert store.verify(db).problems


def test_the_retention_is_a_setting_of_at_least_180_days(tmp_path, monkeypatch):
    db = make_store(tmp_path)
    config = tmp_path / "luoshi.toml"
    config.write_text("[audit]\nretention_days = 90\n", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        app_for(db, config=str(config))
    assert "至少保存六个月" in refused.value.problems[0].message
    config.write_text("[audit]\nretention_days = 365\n", encoding="utf-8")
    engine = store.connect(db)
    audit.write(engine, "logout", who="caizheng", address="10.0.0.1")
    later = audit.now() + dt.timedelta(days=200)
    monkeypatch.setattr(audit, "now", lambda: later)
    app_for(db, config=str(config))  # prunes at start: nothing is a year old yet
    assert audit.count(engine, audit.Filter(action="prune")) == 0
    later = audit.now() + dt.timedelta(days=366)
    monkeypatch.setattr(audit, "now", lambda: later)
    app_for(db, config=str(config))
    assert audit.count(engine, audit.Filter(action="prune")) == 1


def test_the_upgrade_links_the_entries_written_before(tmp_path):
    """A store of the previous revision, with audit entries, is upgraded: its entries become
    the first links of the chain, in the order written, and verify finds nothing."""
    from alembic import command
    from alembic.config import Config

    import luoshi.facts.migrations as migrations

    db = f"sqlite:///{tmp_path / 'old.db'}"
    engine = store.connect(db)
    config = Config()
    config.set_main_option("script_location", migrations.__path__[0])
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        for number in range(3):
            connection.execute(sa.text(
                "INSERT INTO audit_log (at, user_name, unit, action, outcome, address, detail) "
                "VALUES (:at, :user, NULL, 'login', 'ok', '10.0.0.1', :detail)"),
                {"at": dt.datetime(2026, 1, 1, 8, number), "user": f"u{number}",
                 "detail": json.dumps({"n": number})})
    store.migrate(engine)
    with engine.connect() as connection:
        seqs = connection.execute(sa.select(AUDIT_LOG.c.chain_seq).order_by(AUDIT_LOG.c.id)).scalars()
        assert list(seqs) == [1, 2, 3]
    with engine.connect() as connection:
        from luoshi.facts import chain

        verdict = chain.verify(connection)
    assert verdict.problems == [] and verdict.audit_seq == 3
