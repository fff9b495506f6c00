"""The commands end to end, through typer's runner: exit codes, output, what is stored."""

import json

import jsonschema
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts.kinds import KINDS

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


@pytest.mark.parametrize("options, validator_class", [
    ([], jsonschema.Draft202012Validator),
    (["--draft", "7"], jsonschema.Draft7Validator),
])
def test_schema_is_valid_and_accepts_the_examples(example_path, minimal_path, options,
                                                  validator_class):
    result = runner.invoke(app, ["schema", *options])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert jsonschema.validators.validator_for(schema) is validator_class  # its `$schema`
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    for path in (example_path, minimal_path):
        # What an editor sees: YAML's own typing (dates and numbers as such) is not ours, so
        # compare with the file read as plain strings the way our loader reads it.
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
        assert list(validator.iter_errors(_typed(document))) == []
    bad = {"units": [{"id": "u1", "名称": "x", "kind": "纪委", "extra": 1}]}
    messages = sorted(error.message for error in validator.iter_errors(bad))
    assert len(messages) == 2  # the unknown enum value and the unknown field


# Draft 7's keywords (json-schema.org/draft-07/json-schema-validation): an editor that reads
# draft 7 ignores any other keyword, so a schema that used one would check less than it says.
DRAFT_7_KEYWORDS = {
    "$schema", "$id", "$ref", "$comment", "title", "description", "default", "readOnly",
    "writeOnly", "examples", "definitions", "type", "enum", "const", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
    "format", "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains",
    "maxProperties", "minProperties", "required", "properties", "patternProperties",
    "additionalProperties", "dependencies", "propertyNames", "if", "then", "else", "allOf",
    "anyOf", "oneOf", "not", "contentMediaType", "contentEncoding"}


def _keywords(schema, found):
    """keyword -> the schemas using it, for every keyword in `schema` (names under `properties`
    and `definitions` are not keywords)."""
    if isinstance(schema, list):
        for item in schema:
            _keywords(item, found)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            found.setdefault(key, []).append(schema)
            if key in ("properties", "definitions", "$defs", "patternProperties"):
                for member in value.values():
                    _keywords(member, found)
            elif key not in ("enum", "const", "default", "examples", "required"):
                _keywords(value, found)
    return found


def test_schema_for_draft_7_uses_only_draft_7_keywords():
    result = runner.invoke(app, ["schema", "--draft", "7"])
    assert result.exit_code == 0, result.output
    keywords = _keywords(json.loads(result.stdout), {})
    assert set(keywords) <= DRAFT_7_KEYWORDS, set(keywords) - DRAFT_7_KEYWORDS
    assert {schema["$ref"] for schema in keywords["$ref"]} == {
        f"#/definitions/{kind}" for kind in KINDS}
    assert all(len(schema) == 1 for schema in keywords["$ref"])  # draft 7 ignores a $ref's siblings
    bad = runner.invoke(app, ["schema", "--draft", "4"])
    assert bad.exit_code == 2 and "C001" in bad.stderr and "2020-12、7" in bad.stderr


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


def test_version_names_luoshi_the_rules_engine_and_python():
    from importlib import metadata
    from platform import python_version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"luoshi {metadata.version('luoshi')}",
        f"durable-rules {metadata.version('durable-rules')}",
        f"Python {python_version()}"]
