"""The commands end to end, through typer's runner: exit codes, output, what is stored."""

import json

import jsonschema
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app

runner = CliRunner()


def test_validate_a_good_set_exits_0_and_counts_every_kind(example_path):
    result = runner.invoke(app, ["validate", str(example_path)])
    assert result.exit_code == 0, result.output
    assert "落实任务" in result.stdout and "136" in result.stdout
    assert "校验通过" in result.stderr


def test_validate_the_minimal_example(minimal_path):
    assert runner.invoke(app, ["validate", str(minimal_path)]).exit_code == 0


def test_load_stores_and_reports(example_path, tmp_path):
    db = tmp_path / "x.db"
    result = runner.invoke(app, ["load", str(example_path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "新增" in result.stdout and "第 1 次导入" in result.stderr
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        assert connection.execute(sa.text("select count(*) from units")).scalar() == 6
    engine.dispose()


def test_load_uses_luoshi_db_then_the_current_folder(example_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LUOSHI_DB", raising=False)
    assert runner.invoke(app, ["load", str(example_path)]).exit_code == 0
    assert (tmp_path / "luoshi.db").exists()
    monkeypatch.setenv("LUOSHI_DB", str(tmp_path / "env.db"))
    assert runner.invoke(app, ["load", str(example_path)]).exit_code == 0
    assert (tmp_path / "env.db").exists()


def test_bad_input_stores_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("units:\n  - {id: u1, kind: discipline}\n", encoding="utf-8")
    result = runner.invoke(app, ["load", str(bad), "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] + "\n" == f"{bad}:2:5: units.name: E303 缺少必填字段 name（名称）\n"
    assert "未存储任何数据" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_unreachable_database_exits_2_without_traceback(example_path, tmp_path):
    result = runner.invoke(app, ["load", str(example_path), "--db",
                                 str(tmp_path / "no" / "such" / "folder" / "x.db")])
    assert result.exit_code == 2
    assert "E601" in result.stderr and "无法连接" in result.stderr
    assert "Traceback" not in result.output


def test_missing_path_and_bad_flag_exit_2(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] + "\n" == f"{tmp_path / 'nope.yaml'}: E001 文件或文件夹不存在\n"
    assert runner.invoke(app, ["validate", "--bogus"]).exit_code == 2


def test_schema_is_valid_and_accepts_the_examples(example_path, minimal_path):
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in (example_path, minimal_path):
        # What an editor sees: YAML's own typing (dates and numbers as such) is not ours, so
        # compare with the file read as plain strings the way our loader reads it.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        assert list(validator.iter_errors(_typed(document))) == []
    bad = {"units": [{"id": "u1", "名称": "x", "kind": "纪委", "extra": 1}]}
    messages = sorted(error.message for error in validator.iter_errors(bad))
    assert len(messages) == 2  # the unknown enum value and the unknown field


def _typed(value):
    """YAML read as text, with booleans and numbers as an editor's YAML plugin types them."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if value in ("true", "false"):
        return value == "true"
    if value.isdigit():
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def test_pre_commit_hook_runs_validate():
    from pathlib import Path

    hooks = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "luoshi-validate" and hook["entry"] == "luoshi validate"
    assert hook["language"] == "python" and hook["pass_filenames"] is False


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("luoshi ")
