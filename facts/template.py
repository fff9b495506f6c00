"""The fill-in workbook (`luoshi template`): one sheet per kind, Chinese headers, dropdowns.

- Headers are the fields' Chinese titles (what the XLSX reader accepts); required ones are
  shaded, and every header carries a note: type, whether required, what it refers to.
- Enum and yes/no columns get dropdowns (data validation) listing the Chinese labels, taken
  from a hidden sheet `说明-选项`; like every sheet whose name starts with 说明, the reader
  skips it, so an empty template validates.
- Date columns are formatted as dates; the first sheet, 说明, says how to fill the rest.
- With facts given, the sheets come filled with them (a unit updating last year's data).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .export import cell
from .factset import FactSet
from .kinds import KINDS, choice_of, date_fields, references

ROWS = 1000  # rows prepared with formats and dropdowns
OPTIONS_SHEET = "说明-选项"


def _note(kind: str, name: str) -> str:
    info = KINDS[kind].model_fields[name]
    parts = [f"{info.title}（{name}）", "必填" if info.is_required() else "可不填"]
    choice = choice_of(kind, name)
    refs = references(kind).get(name)
    if choice is not None:
        parts.append("从下拉列表选择：" + "、".join(choice.labels.values()))
    elif refs:
        listing = "列表，多个用；分隔" if name in ("cooperating_units", "institutions") else "编号"
        parts.append("填写" + "或".join(KINDS[ref].ZH for ref in refs) + f"的{listing}")
    elif name in date_fields(kind):
        parts.append("日期，如 2013-06-26 或 2013年6月26日")
    elif info.annotation is bool or "bool" in str(info.annotation):
        parts.append("是 或 否")
    return "；".join(parts)


def write_template(path: Path, facts: FactSet | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    guide = workbook.active
    guide.title = "说明"
    options = workbook.create_sheet(OPTIONS_SHEET)
    options.sheet_state = "hidden"
    option_columns: dict[tuple[str, ...], str] = {}
    required_fill = PatternFill("solid", fgColor="FCE4D6")
    header_fill = PatternFill("solid", fgColor="DDEBF7")

    def option_range(values: tuple[str, ...]) -> str:
        if values not in option_columns:
            column = get_column_letter(len(option_columns) + 1)
            for row, value in enumerate(values, start=1):
                options[f"{column}{row}"] = value
            option_columns[values] = f"'{OPTIONS_SHEET}'!${column}$1:${column}${len(values)}"
        return option_columns[values]

    for kind, model in KINDS.items():
        sheet = workbook.create_sheet(model.ZH)
        sheet.freeze_panes = "A2"
        for column, (name, info) in enumerate(model.model_fields.items(), start=1):
            letter = get_column_letter(column)
            header = sheet.cell(row=1, column=column, value=info.title)
            header.font = Font(bold=True)
            header.fill = required_fill if info.is_required() else header_fill
            header.comment = Comment(_note(kind, name), "luoshi", width=300, height=120)
            sheet.column_dimensions[letter].width = max(12, len(info.title) * 2.4 + 4)
            cells = f"{letter}2:{letter}{ROWS + 1}"
            choice = choice_of(kind, name)
            values = tuple(choice.labels.values()) if choice else (
                ("是", "否") if info.annotation is bool else None)
            if values:
                validation = DataValidation(type="list", formula1=option_range(values),
                                            allow_blank=True, showErrorMessage=True,
                                            errorTitle="取值无效", error="请从下拉列表中选择")
                sheet.add_data_validation(validation)
                validation.add(cells)
            if name in date_fields(kind):
                for row in range(2, ROWS + 2):
                    sheet.cell(row=row, column=column).number_format = "yyyy-mm-dd"
        if facts is not None:
            for row, record in enumerate(facts.records[kind], start=2):
                for column, name in enumerate(model.model_fields, start=1):
                    value = cell(kind, name, getattr(record.fact, name), True, False)
                    target = sheet.cell(row=row, column=column, value=value)
                    if isinstance(value, str) and value.startswith("="):
                        target.data_type = "s"  # text, never a formula
                    if isinstance(value, dt.date):
                        target.number_format = "yyyy-mm-dd"

    lines = [
        "luoshi 报送数据模板（惩防体系制度落实）",
        "",
        "1. 每个工作表是一类数据，第一行是字段名，请从第二行起每行填写一条记录；不要修改第一行和工作表名。",
        "2. 表头为橙色的是必填字段，蓝色的可以不填。把鼠标停在表头上可以看到每个字段的说明。",
        "3. 有下拉箭头的单元格请从列表中选择；日期写成 2013-06-26 或 2013年6月26日，或用 Excel 的日期。",
        "4. “编号”是本类记录的唯一编号；其他表中的单位、人员、制度等字段填写对应记录的编号。",
        "5. 多个编号（配合单位、检查制度）用分号“；”分隔。",
        "6. 没有数据的工作表可以留空。填好后运行：luoshi validate 本文件.xlsx",
        "",
        "工作表一览：",
    ]
    lines += [f"  {model.ZH}（{kind}）：{len(model.model_fields)} 个字段" for kind, model in KINDS.items()]
    for row, text in enumerate(lines, start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(wrap_text=False)
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 110
    workbook.save(path)
