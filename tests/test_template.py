"""The fill-in workbook: validates empty; filled, it loads to exactly the same facts as YAML."""

from __future__ import annotations

from openpyxl import load_workbook
from typer.testing import CliRunner

from luoshi.cli.main import app
from luoshi.facts.kinds import KINDS
from luoshi.facts.validate import read_facts

runner = CliRunner()


def test_empty_template_validates_and_has_every_kind(tmp_path):
    book = tmp_path / "模板.xlsx"
    assert runner.invoke(app, ["template", "--out", str(book)]).exit_code == 0
    result = runner.invoke(app, ["validate", str(book)])
    assert result.exit_code == 0, result.output
    workbook = load_workbook(book)
    assert workbook.sheetnames[0] == "说明"
    assert set(workbook.sheetnames) == {"说明", "说明-选项", *(m.ZH for m in KINDS.values())}
    units = workbook["单位"]
    assert [cell.value for cell in units[1]] == [i.title for i in KINDS["units"].model_fields.values()]
    assert "从下拉列表选择" in units["C1"].comment.text and "必填" in units["C1"].comment.text
    ranges = {str(v.sqref): v.formula1 for v in units.data_validations.dataValidation}
    assert ranges["C2:C1001"].startswith("'说明-选项'!")
    inspections = workbook["督办检查"]
    assert inspections["D2"].number_format == "yyyy-mm-dd"


def test_filled_template_loads_to_exactly_the_yaml_facts(example_path, tmp_path):
    book = tmp_path / "filled.xlsx"
    result = runner.invoke(app, ["template", "--out", str(book), "--from", str(example_path)])
    assert result.exit_code == 0, result.output
    from_yaml, _ = read_facts([str(example_path)])
    from_book, _ = read_facts([str(book)])
    assert {k: [r.fact for r in v] for k, v in from_book.records.items()} == \
        {k: [r.fact for r in v] for k, v in from_yaml.records.items()}
    # Chinese labels, as a unit would pick them from the dropdowns
    assert load_workbook(book)["单位"]["C2"].value == "纪检监察机关"
