"""Mistakes in policy files and on the command line: code, file:line and a clear sentence."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from luoshi.cli.main import app

from .checking import problem_lines

BAD = Path(__file__).parent / "bad_policies"
MINIMAL = Path(__file__).parent / "golden" / "minimal" / "facts.yaml"

CASES = {
    "syntax": ("local.yaml:4:6: P101 ", "YAML 语法错误"),
    "bad-severity": ("local.yaml:7:5: P201 ", "rules.0.severity"),
    "bad-expression": ("local.yaml:10:13: P301 ", "（第 22 个字符）"),
    "unknown-field": ("local.yaml:10:13: P302 ", "units 没有字段 knd"),
    "unknown-param": ("local.yaml:10:13: P302 ", "未知的参数或变量 $mni"),
    "duplicate-id": ("local.yaml:5:5: P401 ", "规则编号 R101 重复"),
    "no-shared-key": ("local.yaml:5:5: P501 ", "没有共同的关联字段"),
    "alternative-unless": ("local.yaml:15:13: P501 ", "unless 中的条件须涉及 e"),
    "trigger-unless": ("local.yaml:17:13: P302 ", "rectifications 没有字段 nosuchfield"),
    # The user's rule closes the cycle with the bundled A308: it is the one to blame.
    "cycle": ("local.yaml:5:5: P501 ", "X901：规则之间存在循环依赖"),
    "wrong-arity": ("local.yaml:10:13: P302 ", "函数 len 应有 1 个参数，实际为 2 个"),
    "text-arithmetic": ("local.yaml:10:13: P302 ", "不能这样加减"),
    # The engine would compare the date's day number with the text; the evaluator never holds.
    "type-mismatch": ("local.yaml:10:13: P302 ", "比较的两边类型不同（日期与文本）"),
    "nested-aggregates": ("local.yaml:10:13: P302 ", "聚合嵌套过深（最多 2 层）"),
    "huge-number": ("local.yaml:10:13: P301 ", "数值 99999999999999999999999999999 过大"),
    "deep-nesting": ("local.yaml:10:13: P301 ", "表达式嵌套过深（最多 32 层）"),
    "silent-override": ("terms.yaml:4:5: P402 ", "units.responsible 是自带的术语或参数"),
    "computed-cycle": ("terms.yaml:3:5: P302 ", "计算字段 units.alpha 循环引用：alpha → beta → alpha"),
    "terms-error": ("terms.yaml:4:5: P302 ", "units.remote：units 没有字段 knd"),
    # Issue 21: each of these ended in "内部错误", or passed and never fired.
    "five-thousand-digits": ("local.yaml:10:13: P301 ", "数值 99999999999999999999…（5000 位） 过大"),
    "huge-default": ("local.yaml:10:14: P201 ", "参数的默认值应为有限的数值，绝对值不超过 2^53"),
    "label-unknown-kind": ("local.yaml:10:13: P302 ", "函数 label 的第一个参数 'unit' 不是数据类别，是否应为 'units'？"),
    "date-overflow": ("local.yaml:10:13: P301 ", "日期加减“9000 years”超过 100 年的上限，日期会超出日历"),
    "param-checks-defaults": ("local.yaml:11:20: P201 ", "参数的默认值不满足 param_checks 的条件 $min <= $max（X901.min=5、X901.max=3）"),
    "empty-fields-unknown": ("local.yaml:11:42: P302 ", "函数 empty_fields 的参数 'secretary' 不是 units 的字段名"),
    "param-checks-fields": ("local.yaml:11:20: P302 ", "param_checks 只能用本规则的参数与共用参数（$accountability_days、$max、$min）、常数、比较、加减与 and/or/not，不能用：记录的字段、聚合或函数"),
}


def test_every_case_is_listed():
    assert sorted(CASES) == sorted(path.name for path in BAD.iterdir())


@pytest.mark.parametrize("case", sorted(CASES))
def test_policy_error_is_reported_at_its_place(case, monkeypatch):
    monkeypatch.chdir(BAD)
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--policies", case])
    assert result.exit_code == 2
    (line,) = problem_lines(result)
    where, words = CASES[case]
    assert line.startswith(f"{case}/{where}") and words in line, line
    assert "Traceback" not in result.output


def test_a_missing_policy_folder_and_a_bad_parameter():
    missing = CliRunner().invoke(app, ["rules", "--policies", "/no/such/folder"])
    assert missing.exit_code == 2 and "P101 策略文件夹不存在" in missing.stderr
    param = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--param", "x=1"])
    assert param.exit_code == 2 and param.stderr.startswith("--param: C001 未知的参数 x")


def test_a_users_policy_folder_adds_rules(tmp_path):
    text = (BAD / "bad-severity" / "local.yaml").read_text(encoding="utf-8")
    (tmp_path / "local.yaml").write_text(text.replace("fatal", "warning").replace(
        'match: {u: "units"}', 'match: {u: "units where u.kind == \'county\'"}'), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--format", "json",
                                      "--policies", str(tmp_path), "--select", "X9"])
    assert result.exit_code == 0, result.output
    assert '"subject": "u-xa"' in result.stdout


def test_an_override_is_explicit_and_named_in_every_output():
    folder = Path(__file__).parent / "overrides"
    base = ["check", str(MINIMAL), "--year", "2013", "--policies", str(folder)]
    data = CliRunner().invoke(app, [*base, "--format", "json"])
    import json

    names = [item["name"] for item in json.loads(data.stdout)["overrides"]]
    assert names == ["accountability_days", "units.responsible"]
    table = CliRunner().invoke(app, [*base, "--format", "table"]).stdout
    assert "改变了自带的术语或参数：accountability_days" in table
    plain = CliRunner().invoke(app, ["check", str(MINIMAL), "--year", "2013", "--format", "json"])
    assert json.loads(plain.stdout)["overrides"] == []
