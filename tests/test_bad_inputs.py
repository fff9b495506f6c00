"""The bad-input corpus: each entry of tests/bad/ is refused with exactly the lines expected."""

import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app

from .checking import problem_lines

BAD = Path(__file__).parent / "bad"
EXPECTED = yaml.safe_load((Path(__file__).parent / "bad_inputs.yaml").read_text(encoding="utf-8"))


def test_every_case_has_expected_lines_and_vice_versa():
    assert sorted(EXPECTED) == sorted(entry.name for entry in BAD.iterdir())
    assert len(EXPECTED) >= 20


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_bad_input_is_refused_with_the_expected_message(case, monkeypatch):
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(app, ["validate", case])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert problem_lines(result) == EXPECTED[case]
    assert "Traceback" not in result.output


def test_alias_bomb_is_refused_in_under_a_second(monkeypatch):
    monkeypatch.chdir(BAD)
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["validate", "alias-bomb.yaml"])
    assert result.exit_code == 2
    assert time.perf_counter() - started < 1.0


def test_all_problems_of_all_files_are_reported_in_one_run(monkeypatch):
    monkeypatch.chdir(BAD)
    cases = ["json-syntax.json", "kind-not-list.yaml", "old-excel.xls", "unknown-header"]
    result = CliRunner().invoke(app, ["validate", *cases])
    assert result.exit_code == 2
    assert problem_lines(result) == [line for case in cases for line in EXPECTED[case]]


def test_every_error_code_is_documented_and_triggered():
    from luoshi.facts.problems import CODES

    docs = (Path(__file__).parent.parent / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = {line.split()[1] for line in docs.splitlines()
                  if line.startswith("### ") and line.split()[1][1:].isdigit()}
    assert documented == set(CODES)
    triggered = {line.split(": E")[1][:3] for lines in EXPECTED.values() for line in lines}
    triggered = {f"E{code}" for code in triggered}
    # E601 (an unreachable database) is triggered in test_cli.py, E602 (a database not this
    # luoshi's) in test_databases.py, E603 (a broken chain) in test_chain.py, E502 (a record of
    # another unit in a unit's submission) in test_versions.py, policy (P) and command-line (C)
    # codes in test_policy_errors.py, waiver codes in test_waivers.py.
    assert {code for code in set(CODES) - triggered if code.startswith("E")} == {
        "E502", "E601", "E602", "E603"}


def test_a_folder_names_every_file_it_skips_and_why(monkeypatch):
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(app, ["validate", "folder-with-other-files"])
    assert result.stderr.splitlines()[:2] == [
        "已跳过 folder-with-other-files/~$单位.xlsx：Excel/WPS 打开时的临时文件",
        "已跳过 folder-with-other-files/说明.docx：不是数据文件（.docx），只读取 .csv、.json、.xlsx、.yaml、.yml",
    ]


def test_links_inside_the_folder_are_followed_once(tmp_path):
    import shutil

    data = tmp_path / "data"
    (data / "2013").mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "golden" / "minimal" / "facts.yaml", data / "2013")
    (data / "latest").symlink_to("2013")
    (data / "again.yaml").symlink_to("2013/facts.yaml")
    result = CliRunner().invoke(app, ["validate", str(data)])
    assert result.exit_code == 0, result.output
    assert f"已跳过 {data / 'latest'}：与 {data / '2013'} 是同一个文件夹" in result.stderr
    assert f"已跳过 {data / 'again.yaml'}：与 {data / '2013' / 'facts.yaml'} 是同一个文件" in result.stderr
    assert "校验通过：1 个文件" in result.stderr


def test_a_cell_past_the_csv_limit_is_refused_in_chinese(tmp_path):
    """The csv module's "field larger than field limit (131072)" reached the user as it was."""
    (tmp_path / "units.csv").write_text("id,name,kind\nu1,\"" + "x" * 140_000 + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "units.csv")])
    assert result.exit_code == 2
    assert problem_lines(result) == [
        f"{tmp_path / 'units.csv'}:2: E103 CSV 格式错误：有一个单元格超过 131,072 个字符的上限："
        "若它本身没有这么长，多半是引号没有闭合，把后面的许多行都并进了这个单元格"]
