"""Benchmark: memory and time of inputs built to exhaust a reader, each refused.

Builds, in a temporary folder: a 1 MB XLSX whose sheet inflates to 1 GB, one whose shared
strings inflate to 600 MB, workbooks just under the caps, a 200 MB YAML and a 200 MB JSON, and
a CSV whose header holds a cell of 80 KB of spaces (issue 21: 17 s in a quadratic pattern).
Each `luoshi validate FILE` runs in a fresh process under /usr/bin/time; the table gives its
exit status, peak memory (max RSS), wall and CPU seconds, and the first line it printed.
The target (issue 13): every refused input under 500 MB.

    python bench/hostile_bench.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
    '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="units" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship '
    'Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
              '.org/spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"
STRINGS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org'
                '/spreadsheetml/2006/main">')


def workbook(path: Path, sheet_rows, strings=()) -> None:
    """An XLSX written part by part, so that its inflated parts never sit in memory here."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(STRINGS_HEAD.encode())
            for chunk in strings:
                part.write(chunk.encode())
            part.write(b"</sst>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_HEAD.encode())
            for chunk in sheet_rows:
                part.write(chunk.encode())
            part.write(SHEET_TAIL.encode())


def rows(total_bytes: int, cell_text: str):
    """Rows of units (id, name, kind) — inline strings, a valid header first."""
    yield ('<row r="1"><c t="inlineStr"><is><t>id</t></is></c><c t="inlineStr"><is><t>name</t></is>'
           '</c><c t="inlineStr"><is><t>kind</t></is></c></row>')
    written, number = 0, 1
    while written < total_bytes:
        number += 1
        row = (f'<row r="{number}"><c t="inlineStr"><is><t>u{number}</t></is></c><c t="inlineStr">'
               f'<is><t>{cell_text}</t></is></c><c t="inlineStr"><is><t>x</t></is></c></row>')
        written += len(row)
        yield row


def shared_strings(total_bytes: int):
    written, number = 0, 0
    while written < total_bytes:
        chunk = "".join(f"<si><t>s{number + i}</t></si>" for i in range(1000))
        number += 1000
        written += len(chunk)
        yield chunk


def big_text(path: Path, total_bytes: int, json_form: bool) -> None:
    with path.open("w", encoding="utf-8") as file:
        file.write('{"units": [\n' if json_form else "units:\n")
        number = 0
        while file.tell() < total_bytes:
            number += 1
            if json_form:
                file.write(f'{"," if number > 1 else ""}{{"id": "u{number}", "name": "单位", "kind": "county"}}\n')
            else:
                file.write(f"  - {{id: u{number}, name: 单位, kind: county}}\n")
        file.write("]}\n" if json_form else "")


def long_header(path: Path) -> None:
    cell = "名称" + " " * 80_000 + "x"
    path.write_text(f'id,"{cell}",kind\nu1,单位,county\n', encoding="utf-8")


def measure(path: Path) -> tuple[int, float, float, float, str]:
    command = ["/usr/bin/time", "-f", "%M %e %U %S", sys.executable, "-m", "luoshi.cli.main",
               "validate", str(path)]
    result = subprocess.run(command, capture_output=True, text=True)
    peak_kb, wall, user, system = result.stderr.strip().splitlines()[-1].split()
    first = (result.stdout.splitlines() or [""])[0]
    return result.returncode, int(peak_kb) / 1024, float(wall), float(user) + float(system), first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", type=Path, help="build the inputs in this folder and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="luoshi-hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    mb = 2**20
    cases = {
        "sheet-bomb.xlsx": lambda p: workbook(p, rows(1024 * mb, "A" * 2000)),
        "strings-bomb.xlsx": lambda p: workbook(p, rows(1000, "x"), shared_strings(600 * mb)),
        "strings-over-cap.xlsx": lambda p: workbook(p, rows(1000, "x"), shared_strings(60 * mb)),
        "sheet-under-cap.xlsx": lambda p: workbook(p, rows(190 * mb, "A" * 2000)),
        "strings-under-cap.xlsx": lambda p: workbook(p, rows(1000, "x"), shared_strings(47 * mb)),
        "big.yaml": lambda p: big_text(p, 200 * mb, False),
        "big.json": lambda p: big_text(p, 200 * mb, True),
        "units.csv": long_header,
    }
    print("| 输入 | 文件 MB | 退出状态 | 峰值内存 MB | 墙钟 s | CPU s | 输出的第一行 |")
    print("|---|---|---|---|---|---|---|")
    for name, build in cases.items():
        path = folder / name
        if not path.exists():
            build(path)
        status, peak, wall, cpu, first = measure(path)
        shown = first.replace(str(folder) + "/", "")[:70]
        print(f"| {name} | {path.stat().st_size / mb:.1f} | {status} | {peak:.0f} | {wall:.1f} | "
              f"{cpu:.1f} | {shown} |", flush=True)


if __name__ == "__main__":
    main()
