"""CSV files and XLSX workbooks: one kind per file (CSV, by its name) or per sheet (XLSX).

A header row names the fields, by code name or Chinese title; each following non-empty row is a
record, located by its line (CSV) or `sheet!row` (XLSX). An empty cell means "not given".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .kinds import date_fields, field_choices, resolve_field, resolve_kind, suggest_field
from .problems import Location
from .raw import RawRecord, Reading, unknown_kind

INSTRUCTION_SHEETS = ("说明", "README")
_FORMULA_START = ("=", "+", "-", "@")


def _empty(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def records_from_table(name: str, rows: Iterable[tuple[int, list[Any]]], where: Location,
                       reading: Reading, excel_dates: bool = False) -> None:
    kind = resolve_kind(name)
    if kind is None:
        what = "工作表名" if where.sheet is not None else "文件名"
        reading.problem(where, "E202", f"{what}表示数据类别：{unknown_kind(name)}")
        return
    dates = date_fields(kind) if excel_dates else frozenset()
    header: list[str | None] | None = None
    headerless_reported: set[int] = set()
    # Columns under a header already reported (unknown or repeated): their cells are skipped.
    reported: set[int] = set()
    for number, cells in rows:
        if all(_empty(cell) for cell in cells):
            continue
        if header is None:
            header = _read_header(kind, number, cells, where, reading, reported)
            continue
        values: dict[str, Any] = {}
        fields_at: dict[str, tuple[int, int]] = {}
        for index, cell in enumerate(cells):
            if _empty(cell):
                continue
            name = header[index] if index < len(header) else None
            if name is None:
                if index not in reported and index not in headerless_reported:
                    headerless_reported.add(index)
                    reading.problem(where.at(number, index + 1), "E205",
                                    f"第 {index + 1} 列有数据但没有表头", kind)
                continue
            if name in dates and isinstance(cell, (int, float)) and not isinstance(cell, bool):
                cell = _from_excel_serial(cell)
            elif isinstance(cell, str) and cell[:1] == "'" and cell[1:2] in _FORMULA_START:
                cell = cell[1:]  # an exported cell kept from running as a formula
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
        name = resolve_field(kind, cell)
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


def _from_excel_serial(serial: float) -> Any:
    from openpyxl.utils.datetime import from_excel

    try:
        return from_excel(serial)
    except (OverflowError, ValueError):
        return serial  # left for the date type to refuse with its own message


_CSV_MESSAGES = {
    "unexpected end of data": "引号没有闭合，此行的带引号字段一直延续到文件末尾",
}


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
                message = _CSV_MESSAGES.get(str(error), str(error))
                reading.problem(where.at(start), "E103", f"CSV 格式错误：{message}")
                return
            yield start, cells

    records_from_table(Path(path).stem, rows(), where, reading)


def read_xlsx(path: str, data: bytes, reading: Reading) -> None:
    import openpyxl  # imported here: loading it costs time every other command does not need

    where = Location(path)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a damaged workbook raises anything from zipfile, lxml, openpyxl
        reading.problem(where, "E104", "XLSX 工作簿无法打开，文件可能已损坏或不是 Excel 工作簿"
                                       f"（{type(error).__name__}: {error}）")
        return
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
            try:
                records_from_table(sheet.title, rows, where, reading, excel_dates=True)
            except Exception as error:  # sheets are parsed lazily: damage shows up only here
                reading.problem(where, "E104", f"工作表已损坏，无法读取（{type(error).__name__}: "
                                               f"{str(error)[:200]}）")
    except Exception as error:
        reading.problem(Location(path), "E104", f"XLSX 工作簿已损坏（{type(error).__name__}）")
    finally:
        workbook.close()

