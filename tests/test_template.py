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
    assert [cell.value for cell in units[1]] == [
        i.title + ("（必填）" if i.is_required() else "") for i in KINDS["units"].model_fields.values()]
    assert units["B1"].value == "名称（必填）" and units["D1"].value == "上级单位"
    assert "从下拉列表选择" in units["C1"].comment.text and "必填" in units["C1"].comment.text
    ranges = {str(v.sqref): v.formula1 for v in units.data_validations.dataValidation}
    assert ranges["C3:C1002"].startswith("'说明-选项'!")
    assert units["A2"].value.startswith("示例：") and units["A2"].font.i  # the example row
    inspections = workbook["督办检查"]
    assert inspections["D3"].number_format == "yyyy-mm-dd"


def test_filled_template_loads_to_exactly_the_yaml_facts(example_path, tmp_path):
    book = tmp_path / "filled.xlsx"
    result = runner.invoke(app, ["template", "--out", str(book), "--from", str(example_path)])
    assert result.exit_code == 0, result.output
    from_yaml, _ = read_facts([str(example_path)])
    from_book, _ = read_facts([str(book)])
    assert {k: [r.fact for r in v] for k, v in from_book.records.items()} == \
        {k: [r.fact for r in v] for k, v in from_yaml.records.items()}
    # Chinese labels, as a unit would pick them from the dropdowns
    assert load_workbook(book)["单位"]["C3"].value == "纪检监察机关"


def test_codes_are_offered_with_their_names_and_read_as_codes(example_path, tmp_path):
    book = tmp_path / "filled.xlsx"
    assert runner.invoke(app, ["template", "--out", str(book), "--from", str(example_path)]).exit_code == 0
    workbook = load_workbook(book)
    persons = workbook["人员"]
    ranges = {str(v.sqref): v for v in persons.data_validations.dataValidation}
    unit_list = ranges["C3:C1002"]  # 所在单位
    assert unit_list.errorStyle == "warning"
    column = unit_list.formula1.split("!")[1].split(":")[0].replace("$", "")[:-1]
    offered = [c.value for c in workbook["说明-选项"][column] if c.value]
    facts, _ = read_facts([str(example_path)])
    units = {u.fact.id: u.fact.name for u in facts.records["units"]}
    assert offered == sorted(f"{key}｜{name}" for key, name in units.items())
    # A clerk picks "code｜name" from the list: the code is what is read.
    first = persons.cell(row=3, column=3)
    first.value = offered[0]
    workbook.save(book)
    read, _ = read_facts([str(book)])
    assert read.records["persons"][0].fact.unit == offered[0].split("｜")[0]


def test_a_sheet_as_clerks_make_it_reads_with_explanations(tmp_path):
    """A title row above the header, headers marked 必填, a 备注 column, the example row,
    codes separated by 顿号: read as meant; the title row is named on stderr."""
    from openpyxl import Workbook

    book = tmp_path / "台账.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "制度"
    sheet.append(["2013年度制度台账"])
    sheet.merge_cells("A1:E1")
    sheet.append(["编号（必填）", "名称*", "来源（必填）", "配合单位", "备注"])
    sheet.append(["示例：ins-001", "（名称）", "市委制度", "u1", "不读"])
    sheet.append(["i1", "制度一", "市委制度", "u1、u2", "这是我们自己的说明"])
    units = workbook.create_sheet("单位")
    units.append(["编号", "名称", "类型"])
    units.append(["u1", "甲", "部门"])
    units.append(["u2", "乙", "部门"])
    workbook.save(book)
    result = runner.invoke(app, ["validate", str(book)])
    assert result.exit_code == 0, result.output
    assert f"已跳过 {book}:制度!1：标题行“2013年度制度台账”" in result.stderr
    facts, _ = read_facts([str(book)])
    (institution,) = facts.records["institutions"]
    assert institution.fact.cooperating_units == ["u1", "u2"]
    assert str(institution.where) == f"{book}:制度!4"


def test_template_from_a_database(example_path, tmp_path):
    db = f"sqlite:///{tmp_path / 'l.db'}"
    assert runner.invoke(app, ["load", str(example_path), "--db", db]).exit_code == 0
    book = tmp_path / "from-db.xlsx"
    result = runner.invoke(app, ["template", "--out", str(book), "--db", db])
    assert result.exit_code == 0, result.output
    from_yaml, _ = read_facts([str(example_path)])
    from_book, _ = read_facts([str(book)])
    assert sorted(r.fact.id for r in from_book.records["units"]) == \
        sorted(r.fact.id for r in from_yaml.records["units"])


def test_a_code_that_looks_like_a_formula_stays_text_in_every_cell(tmp_path):
    """A unit stored as `=HYPERLINK("http://…","x")` (the office's data) became a formula in
    the example row of every sheet that refers to units: a link in every unit's template."""
    source = tmp_path / "facts.yaml"
    source.write_text('units:\n  - {id: "=HYPERLINK(\\"http://evil\\",\\"x\\")", name: "=1+1", '
                      'kind: discipline}\n  - {id: u2, name: "@SUM(1)", kind: county}\n',
                      encoding="utf-8")
    out = tmp_path / "t.xlsx"
    assert CliRunner().invoke(app, ["template", "--out", str(out), "--from", str(source)]).exit_code == 0
    book = load_workbook(out)
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    assert any(str(cell.value).startswith("=HYPERLINK") for cell in cells)  # kept, as text
