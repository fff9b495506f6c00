"""Every kind through every shape: YAML, JSON, CSV (three encodings, code or Chinese names) and
XLSX give the same facts; hand-made Chinese files, not only our own exports, read as expected."""

import datetime as dt

import pytest
from openpyxl import Workbook

from luoshi.facts import export
from luoshi.facts.kinds import KINDS
from luoshi.facts.validate import read_facts


def facts_of(paths):
    facts, _ = read_facts([str(path) for path in paths])
    return {kind: [record.fact for record in records] for kind, records in facts.records.items()}


@pytest.fixture(scope="module")
def example(example_path):
    facts, _ = read_facts([str(example_path)])
    return facts


def test_the_example_has_every_kind(example):
    assert all(example.records[kind] for kind in KINDS)


@pytest.mark.parametrize("shape", [
    "yaml", "json", "csv-gb18030-chinese", "csv-utf8-bom-chinese", "csv-utf8-code",
    "xlsx-chinese", "xlsx-code",
])
def test_every_shape_reads_to_the_same_facts(example, shape, tmp_path):
    if shape == "yaml":
        export.write_yaml(example, tmp_path / "facts.yaml")
    elif shape == "json":
        export.write_json(example, tmp_path / "facts.json")
    elif shape.startswith("csv"):
        encoding = {"gb18030": "gb18030", "utf8-bom": "utf-8-sig", "utf8": "utf-8"}[
            shape.split("-")[1] if "bom" not in shape else "utf8-bom"]
        export.write_csv(example, tmp_path, chinese=shape.endswith("chinese"), encoding=encoding)
    else:
        export.write_xlsx(example, tmp_path / "facts.xlsx", chinese=shape.endswith("chinese"))
    expected = {kind: [record.fact for record in records] for kind, records in example.records.items()}
    assert facts_of([tmp_path]) == expected


def test_gb18030_csv_is_really_gb18030(example, tmp_path):
    export.write_csv(example, tmp_path, chinese=True, encoding="gb18030")
    data = (tmp_path / "督办检查.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.decode("gb18030").startswith("编号,组织单位")


HAND_MADE_CSV = """编号,组织单位,被检查单位,日期,方式,范围,形式,专项,检查制度,带队领导,再督查,通报日期
ins-1,u-jw,u-edu,2013年4月10日,经常性督办,全面普查,明察,是,inst-1；inst-2,p-jw2,是,2013/4/30
ins-2,u-jw,,2013-09-05,突击性检查,重点抽查,暗访,否,inst-2,,0,
"""


def test_hand_made_chinese_csv(tmp_path):
    (tmp_path / "督办检查.csv").write_bytes(HAND_MADE_CSV.encode("gb18030"))
    units = "单位:\n  - {编号: u-jw, 名称: 市纪委, 类型: 纪检监察机关}\n  - {编号: u-edu, 名称: 市教育局, 类型: 部门}\n"
    (tmp_path / "base.yaml").write_text(
        units + "人员:\n  - {编号: p-jw2, 姓名: 李红, 所在单位: u-jw}\n"
        "制度:\n  - {编号: inst-1, 名称: 甲, 来源: 省委配套制度}\n  - {编号: inst-2, 名称: 乙, 来源: 市委制度}\n",
        encoding="utf-8")
    facts, _ = read_facts([str(tmp_path)])
    first, second = (record.fact for record in facts.records["inspections"])
    assert first.date == dt.date(2013, 4, 10) and first.published_on == dt.date(2013, 4, 30)
    assert (first.kind, first.scope, first.mode) == ("regular", "comprehensive", "open")
    assert first.special and first.re_supervision and first.institutions == ["inst-1", "inst-2"]
    assert second.target_unit is None and second.led_by is None and second.published_on is None
    assert not second.re_supervision
    assert str(facts.records["inspections"][1].where).endswith("督办检查.csv:3")


def test_hand_made_workbook_with_date_cells_numbers_and_instructions(tmp_path):
    workbook = Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["这一页是说明，不是数据"])
    units = workbook.create_sheet("单位")
    units.append(["编号", "名称", "类型"])
    units.append([101, "市纪委", "纪检监察机关"])
    units.append([None, None, None])  # an empty row in the middle is skipped
    units.append(["u-2", "市教育局", "department"])
    education = workbook.create_sheet("education")
    education.append(["unit", "date", "title"])
    education.append(["101", dt.datetime(2013, 6, 26), "学习"])
    education.append(["u-2", 41451, "serial date cell"])  # 41451 is 2013-06-26 in Excel
    workbook.save(tmp_path / "book.xlsx")
    facts, _ = read_facts([str(tmp_path / "book.xlsx")])
    assert [record.fact.id for record in facts.records["units"]] == ["101", "u-2"]
    assert [str(record.where) for record in facts.records["units"]] == [
        f"{tmp_path / 'book.xlsx'}:单位!2", f"{tmp_path / 'book.xlsx'}:单位!4"]
    assert [record.fact.date for record in facts.records["education"]] == [dt.date(2013, 6, 26)] * 2


def test_json_keeps_record_and_field_positions(tmp_path):
    path = tmp_path / "f.json"
    path.write_text('{\n  "units": [\n    {"id": "u1", "name": "A",\n     "kind": "bogus"}\n  ]\n}',
                    encoding="utf-8")
    from luoshi.facts.problems import InputError

    with pytest.raises(InputError) as raised:
        read_facts([str(path)])
    assert [str(problem.where) for problem in raised.value.problems] == [f"{path}:4:6"]


def test_minimal_example_validates(minimal_path):
    facts = facts_of([minimal_path])
    assert len(facts["units"]) == 4 and len(facts["reviews"]) == 5


def test_a_folder_reads_every_data_file_and_skips_others(example, tmp_path):
    export.write_csv(example, tmp_path / "csv", chinese=True)
    (tmp_path / "csv" / "README.md").write_text("说明", encoding="utf-8")
    (tmp_path / "csv" / "~$lock.xlsx").write_bytes(b"lock")
    (tmp_path / "csv" / ".hidden.yaml").write_text("{not yaml", encoding="utf-8")
    assert sum(len(records) for records in facts_of([tmp_path]).values()) == len(example)
