"""CSV files and XLSX workbooks: one kind per file (CSV, by its name) or per sheet (XLSX).

A header row names the fields, by code name or Chinese title; each following non-empty row is a
record, located by its line (CSV) or `sheet!row` (XLSX). An empty cell means "not given".
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .kinds import (
    date_fields,
    field_choices,
    references,
    resolve_field,
    suggest_field,
    table_kind,
)
from .problems import Location, column_letter
from .raw import EXAMPLE_MARK, IGNORED_FIELDS, LABEL_SEPARATOR, RawRecord, Reading, unknown_kind

INSTRUCTION_SHEETS = ("说明", "README")
_FORMULA_START = ("=", "+", "-", "@")
# How the template marks a required header; the mark is not part of the field's name.
_REQUIRED_MARKS = re.compile(r"^[*＊\s]+|[*＊\s]+$|[（(]\s*必填\s*[)）]\s*$")
# "u-jw｜市纪委" → "u-jw", in every item of a cell (the template's code dropdowns).
_LABELS = re.compile(LABEL_SEPARATOR + r"[^;；、]*")
Merge = tuple[int, int, int, int]  # min_col, min_row, max_col, max_row


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header_name(cell: Any) -> str:
    return _REQUIRED_MARKS.sub("", str(cell).strip())


def records_from_table(name: str, rows: Iterable[tuple[int, list[Any]]], where: Location,
                       reading: Reading, excel_dates: bool = False,
                       merges: list[Merge] | None = None) -> None:
    """A table's records. Before the header, a row of one cell that names no field is a title
    (skipped, and said so); a row whose first cell starts with 示例 is the template's example;
    a 备注 column is the unit's own and not read."""
    kind = table_kind(name)
    if kind is None:
        what = "工作表名" if where.sheet is not None else "文件名"
        reading.problem(where, "E202", f"{what}表示数据类别：{unknown_kind(name)}")
        return
    dates = date_fields(kind) if excel_dates else frozenset()
    refs = references(kind)
    header: list[str | None] | None = None
    headerless_reported: set[int] = set()
    # Columns under a header already reported (unknown or repeated) or ignored: cells skipped.
    reported: set[int] = set()
    for number, cells in rows:
        if all(_empty(cell) for cell in cells):
            continue
        filled = [cell for cell in cells if not _empty(cell)]
        if header is None:
            title = _header_name(filled[0])
            if len(filled) == 1 and resolve_field(kind, title) is None \
                    and title not in IGNORED_FIELDS:
                reading.skipped.append((str(where.at(number)),
                                        f"标题行“{title[:40]}”（表头之上的标题不是数据）"))
                continue
            header = _read_header(kind, number, cells, where, reading, reported)
            _report_merges(merges or [], number, kind, where, reading)
            continue
        if isinstance(filled[0], str) and filled[0].strip().startswith(EXAMPLE_MARK):
            continue
        values: dict[str, Any] = {}
        fields_at: dict[str, tuple[int, int]] = {}
        for index, cell in enumerate(cells):
            if _empty(cell):
                continue
            column = header[index] if index < len(header) else None
            if column is None:
                if index not in reported and index not in headerless_reported:
                    headerless_reported.add(index)
                    reading.problem(where.at(number, index + 1), "E205",
                                    f"第 {index + 1} 列有数据但没有表头", kind)
                continue
            name = column
            if name in dates and isinstance(cell, (int, float)) and not isinstance(cell, bool):
                cell = _from_excel_serial(cell)
            elif isinstance(cell, str) and cell[:1] == "'" and cell[1:2] in _FORMULA_START:
                cell = cell[1:]  # an exported cell kept from running as a formula
            if name in refs and isinstance(cell, str) and LABEL_SEPARATOR in cell:
                cell = _LABELS.sub("", cell)
            values[name] = cell
            fields_at[name] = (number, index + 1)
        reading.records.append(RawRecord(kind, where.at(number), values, fields_at))


def _read_header(kind: str, number: int, cells: list[Any], where: Location,
                 reading: Reading, reported: set[int]) -> list[str | None]:
    header: list[str | None] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        at = where.at(number, index + 1)
        if _empty(cell):
            header.append(None)
            continue
        written = _header_name(cell)
        if written in IGNORED_FIELDS:
            header.append(None)
            reported.add(index)
            continue
        name = resolve_field(kind, written)
        if name is None:
            shown = str(cell)[:40]
            close = suggest_field(kind, shown)
            hint = f"是否应为 {close}？" if close else f"可用：{field_choices(kind)}"
            reading.problem(at, "E301", f"未知的表头 {shown!r}，{hint}", kind, shown)
            reported.add(index)
        elif name in seen:
            reading.problem(at, "E302", f"表头 {cell!r} 与第 {seen[name]} 列是同一字段", kind, name)
            reported.add(index)
            name = None
        else:
            seen[name] = index + 1
        header.append(name)
    # Columns the header leaves blank are reported only if a row puts data there.
    return header


def _report_merges(merges: list[Merge], header_row: int, kind: str, where: Location,
                   reading: Reading) -> None:
    for min_col, min_row, max_col, max_row in merges:
        if max_row < header_row:
            continue  # a merged title above the header
        span = f"{column_letter(min_col)}{min_row}:{column_letter(max_col)}{max_row}"
        corner = f"{column_letter(min_col)}{min_row}"
        reading.problem(where.at(min_row, min_col), "E206",
                        f"合并单元格 {span}：合并后只有左上角 {corner} 有值，其余单元格都是空的；"
                        "请取消合并，并在每个单元格中填写", kind)


def _merged_ranges(data: bytes, member: str) -> list[Merge]:
    """The merged ranges of a sheet, read from its XML in pieces (openpyxl's read-only mode
    does not give them)."""
    from openpyxl.utils.cell import range_boundaries

    pattern = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3}\d+:[A-Z]{1,3}\d+)"')
    found: list[Merge] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(member.lstrip("/")) as part:
            tail = b""
            while chunk := part.read(1 << 20):
                text = tail + chunk
                last = 0
                for match in pattern.finditer(text):
                    found.append(range_boundaries(match.group(1).decode()))
                    last = match.end()
                tail = text[max(last, len(text) - 200):]
    except (KeyError, zipfile.BadZipFile, OSError, ValueError):
        return []
    return found


def _from_excel_serial(serial: float) -> Any:
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(serial)
    except (OverflowError, ValueError):
        return serial  # left for the date type to refuse with its own message


# The csv module's messages, in Chinese; one it may add later keeps its words in parentheses.
_CSV_MESSAGES = (
    ("unexpected end of data", "引号没有闭合，此行的带引号字段一直延续到文件末尾"),
    ("field larger than field limit", "有一个单元格超过 131,072 个字符的上限：若它本身没有这么长，"
                                      "多半是引号没有闭合，把后面的许多行都并进了这个单元格"),
    ("expected after '\"'", "引号括起的单元格在结束引号之后还有字符：单元格中的引号应写作两个引号（\"\"）"),
    ("new-line character seen in unquoted field", "没有引号括起的单元格中有换行"),
)


def _csv_message(error: csv.Error) -> str:
    words = str(error)
    return next((chinese for english, chinese in _CSV_MESSAGES if english in words),
                f"无法解析此行（{words}）")


def read_csv(path: str, text: str, reading: Reading) -> None:
    where = Location(path)
    if not text.strip():
        reading.problem(where.at(1), "E005", "文件为空，缺少表头行")
        return
    # strict: an unclosed quote is an error, not a field that swallows the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)

    def rows() -> Iterable[tuple[int, list[Any]]]:
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                reading.problem(where.at(start), "E103", f"CSV 格式错误：{_csv_message(error)}")
                return
            yield start, cells

    records_from_table(Path(path).stem, rows(), where, reading)


# Caps on what a workbook may inflate to, checked from the archive's directory before any sheet
# is parsed: the XML of a few MB of XLSX can inflate to gigabytes ("zip bomb"), and openpyxl
# keeps every shared string in memory. zipfile never inflates a member past its declared size,
# so the declared sizes are the real bounds. 98,000 records take about 35 MB of XML.
MAX_XLSX_INFLATED = 192 * 2**20
MAX_SHARED_STRINGS = 48 * 2**20
MAX_XLSX_MEMBERS = 2_000
MAX_RATIO = 200  # inflated / compressed, for a part larger than MAX_RATIO_FROM
MAX_RATIO_FROM = 8 * 2**20


def _xlsx_too_large(data: bytes) -> str | None:
    """Why the workbook is refused before it is opened, or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # openpyxl reports the damage (E104)
    mb = 2**20
    if len(members) > MAX_XLSX_MEMBERS:
        return f"工作簿含 {len(members)} 个部件，超过上限 {MAX_XLSX_MEMBERS}，不像是数据工作簿"
    total = sum(member.file_size for member in members)
    if total > MAX_XLSX_INFLATED:
        return (f"工作簿解压后有 {total / mb:,.0f} MB，超过上限 {MAX_XLSX_INFLATED // mb} MB："
                "请把数据分成几个工作簿，或另存为 CSV")
    # A part inflating hundreds of times over is a zip bomb, not a spreadsheet (real XML
    # parts of a workbook compress 5–30 times).
    bomb = next((member for member in members if member.file_size > MAX_RATIO_FROM
                 and member.file_size > MAX_RATIO * max(member.compress_size, 1)), None)
    if bomb is not None:
        return (f"工作簿的部件 {bomb.filename} 压缩了 {bomb.file_size // max(bomb.compress_size, 1):,} 倍"
                f"（解压后 {bomb.file_size / mb:,.0f} MB），不像是数据工作簿，不予打开")
    shared = sum(member.file_size for member in members
                 if member.filename.lower().endswith("sharedstrings.xml"))
    if shared > MAX_SHARED_STRINGS:
        return (f"工作簿的共享文本有 {shared / mb:,.0f} MB，超过上限 {MAX_SHARED_STRINGS // mb} MB："
                "请把数据分成几个工作簿，或另存为 CSV")
    return None


def _damage(error: Exception) -> str:
    """What is wrong with a workbook, Chinese first; the library's words follow for IT staff."""
    original = f"{type(error).__name__}: {str(error)[:200]}"
    if isinstance(error, zipfile.BadZipFile):
        why = "压缩包已损坏，文件是否没有完整传送或保存？请重新保存后再试"
    elif isinstance(error, KeyError) and "no item named" in str(error):
        why = "这是 ZIP 压缩包，但缺少 Excel 工作簿必需的部件，不是 Excel 工作簿"
    elif "ParseError" in type(error).__name__ or "XMLSyntaxError" in type(error).__name__:
        why = "工作簿中的 XML 已损坏，请在 Excel 或 WPS 中打开后另存为 .xlsx"
    else:
        why = "文件可能已损坏或不是 Excel 工作簿，请在 Excel 或 WPS 中打开后另存为 .xlsx"
    return f"{why}（{original}）"


def read_xlsx(path: str, data: bytes, reading: Reading) -> None:
    # Imported here: loading openpyxl costs time every other command does not need. These are
    # load_workbook's own steps, to see the sheets it passes over.
    from openpyxl.reader.excel import ExcelReader

    where = Location(path)
    refused = _xlsx_too_large(data)
    if refused:
        reading.problem(where, "E107", refused)
        return
    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.read()
        workbook = reader.wb
        # openpyxl passes over a sheet the workbook lists but whose part is missing: its
        # records would be lost without a word.
        lost = [sheet.name for sheet, part in reader.parser.find_sheets()
                if part.target not in reader.valid_files
                and not sheet.name.strip().upper().startswith(INSTRUCTION_SHEETS)]
    except Exception as error:  # a damaged workbook raises anything from zipfile, lxml, openpyxl
        reading.problem(where, "E104", f"XLSX 工作簿无法打开：{_damage(error)}")
        return
    for name in lost:
        reading.problem(Location(path, sheet=name), "E104",
                        f"工作簿列出了工作表“{name}”，但缺少它的内容，工作簿已损坏：请在 Excel 或 WPS 中"
                        "打开，确认这个工作表的数据完整后另存为 .xlsx")
    try:
        for sheet in workbook.worksheets:
            if sheet.title.strip().upper().startswith(INSTRUCTION_SHEETS):
                continue
            sheet.reset_dimensions()  # some writers store wrong dimensions; read every row
            rows = (
                (number, list(cells))
                for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
            )
            where = Location(path, sheet=sheet.title)
            merges = _merged_ranges(data, getattr(sheet, "_worksheet_path", ""))
            try:
                records_from_table(sheet.title, rows, where, reading, excel_dates=True,
                                   merges=merges)
            except Exception as error:  # sheets are parsed lazily: damage shows up only here
                reading.problem(where, "E104", f"工作表无法读取：{_damage(error)}")
    except Exception as error:
        reading.problem(Location(path), "E104", f"XLSX 工作簿无法读取：{_damage(error)}")
    finally:
        workbook.close()

