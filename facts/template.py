"""The fill-in workbook (`luoshi template`): one sheet per kind, Chinese headers, dropdowns.

- Headers are the fields' Chinese titles (what the XLSX reader accepts); required ones end in
  "（必填）", in red on orange, and every header carries a note: type, whether required, what it
  refers to. The reader takes the title with or without the mark.
- Row 2 is an example, grey and italic, its first cell starting with 示例; the reader never
  reads such a row, so a clerk may leave it or overwrite it. Data start on row 3.
- Enum and yes/no columns get dropdowns of the Chinese labels. Given facts (`--from`, `--db`),
  the columns that name a unit, a person or an institution get dropdowns of the codes known,
  each with its name: "u-jw｜市纪委"; the reader keeps the code. Typing a code not in the list
  is allowed (with a warning): a new record may be on another sheet of the same workbook.
  The lists sit on the hidden sheet `说明-选项`; like every sheet whose name starts with 说明,
  the reader skips it, so an empty template validates.
- Date columns are formatted as dates; the first sheet, 说明, says how to fill the rest.
- With facts given, the sheets come filled with them (a unit updating last year's data).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path
from typing import Any

from .export import cell
from .factset import Rows
from .kinds import KINDS, choice_of, date_fields, references, unit_path
from .raw import EXAMPLE_MARK, LABEL_SEPARATOR

ROWS = 1000  # rows prepared with formats and dropdowns
FIRST_DATA_ROW = 3  # row 1 the header, row 2 the example
OPTIONS_SHEET = "说明-选项"
REQUIRED_MARK = "（必填）"
# Kinds whose codes are offered in dropdowns, and the field that names each record.
CODE_LISTS = {"units": "name", "persons": "name", "institutions": "title", "inspections": "id"}
_LIST_FIELDS = ("cooperating_units", "institutions")


def header_text(kind: str, name: str) -> str:
    info = KINDS[kind].model_fields[name]
    return (info.title or name) + (REQUIRED_MARK if info.is_required() else "")


def _note(kind: str, name: str) -> str:
    info = KINDS[kind].model_fields[name]
    parts = [f"{info.title}（{name}）", "必填" if info.is_required() else "可不填"]
    choice = choice_of(kind, name)
    refs = references(kind).get(name)
    if choice is not None:
        parts.append("从下拉列表选择：" + "、".join(choice.labels.values()))
    elif refs:
        listing = "列表，多个用；或、分隔" if name in _LIST_FIELDS else "编号"
        parts.append("填写" + "或".join(KINDS[ref].ZH for ref in refs) + f"的{listing}")
    elif name in date_fields(kind):
        parts.append("日期，如 2013-06-26 或 2013年6月26日")
    elif info.annotation is bool or "bool" in str(info.annotation):
        parts.append("是 或 否")
    return "；".join(parts)


def _example(kind: str, name: str, codes: dict[str, list[str]]) -> Any:
    """A plausible value for the example row."""
    info = KINDS[kind].model_fields[name]
    choice = choice_of(kind, name)
    refs = references(kind).get(name)
    if name == "id":
        return f"{kind[:3]}-001"
    if choice is not None:
        return next(iter(choice.labels.values()))
    if refs:
        known = codes.get(refs[0])
        return known[0] if known else f"{refs[0][:3]}-001"
    if name in date_fields(kind):
        return dt.date(2013, 6, 26)
    if info.annotation is bool:
        return "否"
    if name == "year":
        return 2013
    if "int" in str(info.annotation):
        return 1
    if "float" in str(info.annotation):
        return 95
    return f"（{info.title}）"


def _text(cell: Any) -> Any:
    """`cell`, its text kept as text: openpyxl makes any text starting with "=" a formula
    (=HYPERLINK(…) in a unit's name would become a link in every unit's template)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def code_labels(rows: Rows | None) -> dict[str, list[str]]:
    """For each kind of CODE_LISTS: "code｜name" of every record given."""
    labels: dict[str, list[str]] = {}
    for kind, named_by in CODE_LISTS.items():
        items = []
        for row in (rows or {}).get(kind, ()):
            name = row.get(named_by)
            items.append(f"{row['id']}{LABEL_SEPARATOR}{name}" if name and name != row["id"]
                         else str(row["id"]))
        if items:
            labels[kind] = sorted(items)
    return labels


_NO_LINE_START = set("，。；：、）”’？！")


def _short_lines(lines: list[str], width: int = 84) -> list[str]:
    """Long instructions as lines at most `width` columns wide (a CJK character is two),
    continued under the text: a cell's own wrapping is not honoured by every program. A line
    never starts with closing punctuation nor breaks inside a run of Latin letters or digits."""
    result = []
    for line in lines:
        indent = "   " if line[:2].rstrip(".").isdigit() else ""
        while _columns(line) > width:
            cut, used = 0, 0
            for index, char in enumerate(line):
                used += _columns(char)
                if used > width:
                    break
                cut = index + 1
            while cut > 1 and (line[cut] in _NO_LINE_START
                               or (line[cut].isascii() and line[cut - 1].isascii()
                                   and line[cut] != " " and line[cut - 1] != " ")):
                cut -= 1
            result.append(line[:cut])
            line = indent + line[cut:].lstrip()
        result.append(line)
    return result


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def write_template(path: Path, rows: Rows | None = None, codes_from: Rows | None = None) -> None:
    """The workbook, filled with `rows`; the dropdown lists of codes from `codes_from` (default:
    `rows`)."""
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
    example_font = Font(italic=True, color="808080")
    codes = code_labels(rows if codes_from is None else codes_from)

    def option_range(values: tuple[str, ...]) -> str:
        if values not in option_columns:
            column = get_column_letter(len(option_columns) + 1)
            for row, value in enumerate(values, start=1):
                _text(options.cell(row=row, column=len(option_columns) + 1, value=value))
            option_columns[values] = f"'{OPTIONS_SHEET}'!${column}$1:${column}${len(values)}"
        return option_columns[values]

    for kind, model in KINDS.items():
        sheet = workbook.create_sheet(model.ZH)
        sheet.freeze_panes = "A3"
        for column, (name, info) in enumerate(model.model_fields.items(), start=1):
            letter = get_column_letter(column)
            required = info.is_required()
            header = sheet.cell(row=1, column=column, value=header_text(kind, name))
            header.font = Font(bold=True, color="C00000" if required else "000000")
            header.fill = required_fill if required else header_fill
            header.comment = Comment(_note(kind, name), "luoshi", width=300, height=120)
            refs = references(kind).get(name) or []
            wide = refs and refs[0] in codes and name not in _LIST_FIELDS
            named = name in ("name", "title", "problem", "requirement", "description")
            sheet.column_dimensions[letter].width = max(14, len(header.value) * 2.2 + 4,
                                                        24 if wide or named else 0)
            example = sheet.cell(row=2, column=column, value=_example(kind, name, codes))
            if column == 1:
                example.value = f"{EXAMPLE_MARK}：{example.value}"
            _text(example)  # a stored code of the office's data can start with "="
            example.font = example_font
            if isinstance(example.value, dt.date):
                example.number_format = "yyyy-mm-dd"
            cells = f"{letter}{FIRST_DATA_ROW}:{letter}{ROWS + FIRST_DATA_ROW - 1}"
            choice = choice_of(kind, name)
            values = tuple(choice.labels.values()) if choice else (
                ("是", "否") if info.annotation is bool else None)
            if values:
                validation = DataValidation(type="list", formula1=option_range(values),
                                            allow_blank=True, showErrorMessage=True,
                                            errorTitle="取值无效", error="请从下拉列表中选择")
            elif wide:
                validation = DataValidation(
                    type="list", formula1=option_range(tuple(codes[refs[0]])), allow_blank=True,
                    showErrorMessage=True, errorStyle="warning", errorTitle="编号不在列表中",
                    error=f"列表中没有这个{KINDS[refs[0]].ZH}编号；若是本工作簿新填的记录，可以继续")
            else:
                validation = None
            if validation is not None:
                sheet.add_data_validation(validation)
                validation.add(cells)
            if name in date_fields(kind):
                for row in range(FIRST_DATA_ROW, ROWS + FIRST_DATA_ROW):
                    sheet.cell(row=row, column=column).number_format = "yyyy-mm-dd"
        for row, record in enumerate((rows or {}).get(kind, ()), start=FIRST_DATA_ROW):
            for column, name in enumerate(model.model_fields, start=1):
                value = cell(kind, name, record.get(name), True, False)
                target = _text(sheet.cell(row=row, column=column, value=value))
                if isinstance(value, dt.date):
                    target.number_format = "yyyy-mm-dd"

    lines = [
        "luoshi 报送数据模板（惩防体系制度落实）",
        "",
        "1. 每个工作表是一类数据。第一行是表头，不要修改表头和工作表名；第二行是灰色的示例，"
        "不会被读取（可以保留）；请从第三行起每行填写一条记录。",
        f"2. 表头带“{REQUIRED_MARK}”、红字橙底的是必填字段，蓝底的可以不填。"
        "把鼠标停在表头上可以看到每个字段的说明。",
        "3. 有下拉箭头的单元格请从列表中选择；日期写成 2013-06-26 或 2013年6月26日，或用 Excel 的日期。",
        "4. “编号”是本类记录的唯一编号；其他表中的单位、人员、制度等字段填写对应记录的编号。"
        f"下拉列表中的“编号{LABEL_SEPARATOR}名称”只读取竖线前的编号。",
        "5. 多个编号（配合单位、检查制度）用分号“；”或顿号“、”分隔。",
        "6. 可以在表格最后加一列“备注”写自己的说明，它不会被读取。请不要合并单元格。",
        "7. 没有数据的工作表可以留空。填好后运行：luoshi validate 本文件.xlsx",
        "",
        "工作表一览：",
    ]
    lines += [f"  {model.ZH}（{kind}）：{len(model.model_fields)} 个字段" for kind, model in KINDS.items()]
    for row, text in enumerate(_short_lines(lines), start=1):
        guide.cell(row=row, column=1, value=text).alignment = Alignment(vertical="top")
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 95
    guide.page_setup.fitToWidth = 1
    guide.sheet_properties.pageSetUpPr.fitToPage = True
    workbook.save(path)


def rows_of_unit(rows: Rows, unit: str) -> tuple[Rows, Rows]:
    """What a unit's template holds: (the records it submits, each kind's OWNER being the unit;
    the records whose codes its dropdowns list: of the office's reference kinds, the unit itself,
    its people and the institutions it leads, and of the rest its own). Nothing of another unit."""
    by_id = {kind: {row.get("id"): row for row in records} for kind, records in rows.items()}

    def own(kind: str, path: str | None) -> list[dict]:
        if path is None:
            return []
        field, through = unit_path(kind, path)
        if through is None:
            return [row for row in rows.get(kind, ()) if row.get(field) == unit]
        target, target_field = through
        return [row for row in rows.get(kind, ())
                if (by_id[target].get(row.get(field)) or {}).get(target_field) == unit]

    submitted = [kind for kind in rows if kind in KINDS]  # not the store's history kinds
    records = {kind: own(kind, KINDS[kind].OWNER) for kind in submitted}
    codes = {kind: own(kind, KINDS[kind].OWNER or KINDS[kind].HOME) for kind in submitted}
    return records, codes
