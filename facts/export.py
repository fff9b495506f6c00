"""Writing a fact set back out: YAML, JSON, CSV (a file per kind) or XLSX (a sheet per kind).

With `chinese=True` kinds, headers and enum values are written by their Chinese names and
booleans as 是/否, as a unit filling a Chinese template would; whatever is written this way
reads back to the same facts. Text that a spreadsheet would take for a formula is written so
that it stays text.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from .factset import FactSet
from .kinds import KINDS, choice_of

LIST_SEPARATOR = "；"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header(kind: str, chinese: bool) -> list[str]:
    fields = KINDS[kind].model_fields
    return [(info.title or name) if chinese else name for name, info in fields.items()]


def cell(kind: str, name: str, value: Any, chinese: bool, for_text: bool) -> Any:
    """One field's value as a cell: text for CSV, native values (dates, numbers) for XLSX."""
    if value is None:
        return "" if for_text else None
    if isinstance(value, list):
        return (LIST_SEPARATOR if chinese else ";").join(value)
    if isinstance(value, bool):
        if chinese:
            return "是" if value else "否"
        return ("true" if value else "false") if for_text else value
    if isinstance(value, dt.date):
        return value.isoformat() if for_text else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    choice = choice_of(kind, name) if chinese else None
    if choice is not None:
        return choice.labels[value]
    return str(value) if for_text else value


def rows(facts: FactSet, kind: str, chinese: bool, for_text: bool) -> list[list[Any]]:
    names = list(KINDS[kind].model_fields)
    return [
        [cell(kind, name, getattr(record.fact, name), chinese, for_text) for name in names]
        for record in facts.records[kind]
    ]


def plain(facts: FactSet) -> dict[str, list[dict[str, Any]]]:
    """The set as plain data, kinds with records only, fields left at their defaults omitted."""
    document = {}
    for kind, records in facts.records.items():
        if records:
            document[kind] = [
                record.fact.model_dump(mode="json", exclude_defaults=True) for record in records
            ]
    return document


def write_yaml(facts: FactSet, path: Path) -> None:
    text = yaml.safe_dump(plain(facts), allow_unicode=True, sort_keys=False, width=100)
    path.write_text(text, encoding="utf-8")


def write_json(facts: FactSet, path: Path) -> None:
    path.write_text(json.dumps(plain(facts), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_csv(facts: FactSet, folder: Path, chinese: bool = True,
              encoding: str = "utf-8-sig") -> list[Path]:
    """A file per kind with records, named by the kind's Chinese name (or code name)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, model in KINDS.items():
        if not facts.records[kind]:
            continue
        path = folder / f"{model.ZH if chinese else kind}.csv"
        with path.open("w", encoding=encoding, newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(header(kind, chinese))
            writer.writerows(
                [defuse(value) for value in row] for row in rows(facts, kind, chinese, True)
            )
        written.append(path)
    return written


def write_xlsx(facts: FactSet, path: Path, chinese: bool = True) -> None:
    """A sheet per kind with records, dates as date cells, and an instructions sheet first."""
    from openpyxl import Workbook

    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["每个工作表是一类数据，第一行是字段名（中文或代码名均可），其后每行一条记录。"])
    for kind, model in KINDS.items():
        if not facts.records[kind]:
            continue
        sheet = workbook.create_sheet(model.ZH if chinese else kind)
        sheet.append(header(kind, chinese))
        for values in rows(facts, kind, chinese, False):
            sheet.append(values)
        for row in sheet.iter_rows(min_row=2):
            for item in row:
                if isinstance(item.value, dt.date):
                    item.number_format = "yyyy-mm-dd"
                elif isinstance(item.value, str) and item.value.startswith("="):
                    item.data_type = "s"  # openpyxl would otherwise store it as a formula
    workbook.save(path)


def defuse(value: Any) -> Any:
    """Keep a spreadsheet from running text that starts like a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
