"""Exit statuses mean one thing each: 1 is findings, everything else that stops a command is 2.

The cases of tests/bad_commands.yaml are run one by one; an unexpected exception anywhere ends
as "内部错误" with a report file; and no command but `check` can exit 1 at all.
"""

import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from luoshi.cli import main as cli_main
from luoshi.cli.main import app

HERE = Path(__file__).parent
CASES = yaml.safe_load((HERE / "bad_commands.yaml").read_text(encoding="utf-8"))
MINIMAL = HERE / "golden" / "minimal" / "facts.yaml"


def run_case(case: dict, folder: Path, monkeypatch) -> tuple[int, str]:
    shutil.copy(MINIMAL, folder / "facts.yaml")
    for name, text in case.get("files", {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(folder)
    args = [arg.replace("{tmp}", str(folder)) for arg in case["args"]]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bad_command_line_exits_2_in_chinese(case, tmp_path, monkeypatch):
    status, output = run_case(case, tmp_path, monkeypatch)
    assert status == 2, output
    assert "Traceback" not in output and "Error:" not in output and "Usage:" not in output
    for text in case["expect"]:
        assert text in output, output


def test_no_case_writes_its_output(tmp_path, monkeypatch):
    run_case(CASES[[c["name"] for c in CASES].index("report to a PDF")], tmp_path, monkeypatch)
    assert not (tmp_path / "r.pdf").exists()


def test_an_unexpected_exception_is_an_internal_error_with_a_report(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a defect")

    monkeypatch.setattr("luoshi.cli.validate.read_facts", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    result = CliRunner().invoke(app, ["validate", str(MINIMAL)])
    assert result.exit_code == 2
    assert "内部错误" in result.output and "Traceback" not in result.output
    (report,) = tmp_path.glob("luoshi-error-*.txt")
    text = report.read_text(encoding="utf-8")
    assert "ZeroDivisionError: a defect" in text and "Traceback" in text
    assert str(report) in result.output


def test_help_is_chinese_and_h_works():
    for args in (["-h"], ["check", "-h"], ["rules", "show", "-h"], ["check", "--help"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, args
        assert "用法：" in result.output and "显示此帮助并退出" in result.output
        assert "Usage" not in result.output and "Show this message" not in result.output


def test_only_check_can_exit_1_and_only_on_findings():
    """Statically: no command module asks for status 1 except check's --fail-on threshold and
    the two the contract gives a 1 (interface.md): rerun when its findings differ from the
    record, verify when the chain is broken; the guard (cli/main.py) turns every other way
    out into 2."""
    cli = HERE.parent / "cli"
    exits_1 = {path.name: len(re.findall(r"Exit\(1\)|exit\(1\)", path.read_text(encoding="utf-8")))
               for path in cli.glob("*.py")}
    assert {name: count for name, count in exits_1.items() if count} == \
        {"check.py": 1, "rerun.py": 1, "verify.py": 1}
    assert re.search(r'if not result\["identical"\]:\n\s+raise typer\.Exit\(1\)',
                     (cli / "rerun.py").read_text(encoding="utf-8"))
    assert re.search(r"if verdict\.problems:\n(.*\n){1,6}\s+raise typer\.Exit\(1\)",
                     (cli / "verify.py").read_text(encoding="utf-8"))
    source = (cli / "check.py").read_text(encoding="utf-8")
    assert re.search(r"if threshold and any\(.*report\.findings\):\n\s+raise typer\.Exit\(1\)",
                     source)


def test_findings_exit_1_and_a_clean_check_exits_0(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    findings = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--format", "json"])
    assert findings.exit_code == 1 and '"errors": 0' not in findings.stdout
    never = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--fail-on", "never",
                                     "--format", "json"])
    assert never.exit_code == 0


def test_guard_is_the_command_group(monkeypatch):
    assert isinstance(cli_main.typer.main.get_command(app), cli_main.LuoshiGroup)


def test_the_settings_file_used_is_named_and_no_config_reads_none(tmp_path, monkeypatch):
    import json

    shutil.copy(MINIMAL, tmp_path / "facts.yaml")
    (tmp_path / "luoshi.toml").write_text("[params]\nI201.min = 3\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    used = CliRunner().invoke(app, ["check", "facts.yaml", "--year", "2013", "--format", "json"])
    assert "配置文件：luoshi.toml" in used.stderr
    data = json.loads(used.stdout)
    assert data["config"] == "luoshi.toml" and data["params"]["I201.min"] == 3
    none = CliRunner().invoke(app, ["check", "facts.yaml", "--year", "2013", "--format", "json",
                                    "--no-config"])
    data = json.loads(none.stdout)
    assert data["config"] is None and data["params"]["I201.min"] == 2
    assert "配置文件" not in none.stderr
    other = tmp_path / "other.toml"
    other.write_text("[params]\nI201.min = 1\n", encoding="utf-8")
    chosen = CliRunner().invoke(app, ["report", "facts.yaml", "--year", "2013", "--format", "json",
                                      "--config", str(other)])
    assert json.loads(chosen.stdout)["config"] == str(other)
    assert f"配置文件：{other}" in chosen.stderr


def test_a_config_file_that_cannot_be_read_says_why_in_chinese(tmp_path):
    """`--config` naming a file that is not UTF-8, or a folder: Python's words
    ("'utf-8' codec can't decode byte…", "[Errno 21] Is a directory")."""
    (tmp_path / "gbk.toml").write_bytes("[notices]\norgan = '纪委'\n".encode("gbk"))
    (tmp_path / "folder.toml").mkdir()
    for name, words in (("gbk.toml", "C001 配置文件不是 UTF-8 文本，请另存为 UTF-8"),
                        ("folder.toml", "C001 配置文件无法读取：这是一个文件夹，不是文件")):
        result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013",
                                          "--config", str(tmp_path / name)])
        assert result.exit_code == 2 and words in result.stderr, result.output


@pytest.mark.parametrize("args", [["--version"], ["rules"],
                                  ["check", str(MINIMAL), "--year", "2013", "--format", "json"]])
def test_a_full_standard_output_is_c002_not_an_internal_error(args, tmp_path):
    """Issue 21: `luoshi check … > /dev/full` said "内部错误"; a short output failed only at
    exit, after the guard. Both are C002 with status 2."""
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "luoshi.cli.main", *args], stdout=full,
                              stderr=subprocess.PIPE, cwd=tmp_path, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("标准输出: C002 输出无法写出：磁盘已满"), done.stderr
    assert "内部错误" not in done.stderr and "Traceback" not in done.stderr
