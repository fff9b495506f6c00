"""From paths to raw records: which files to read, what they really are, and who reads them.

Readers are registered by file extension. Before a reader sees a file, its first bytes are
checked against what the extension promises, so a workbook saved as `.csv`, an old `.xls`
or random bytes get a sentence a user understands instead of a parser's complaint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .json_reader import read_json
from .problems import Location, Progress, os_reason
from .raw import Reading
from .table_reader import read_csv, read_xlsx
from .yaml_reader import read_yaml

TextReader = Callable[[str, str, Reading], None]
TEXT_READERS: dict[str, TextReader] = {
    ".yaml": read_yaml,
    ".yml": read_yaml,
    ".json": read_json,
    ".csv": read_csv,
}
BINARY_READERS = {".xlsx": read_xlsx}
EXTENSIONS = frozenset(TEXT_READERS) | frozenset(BINARY_READERS)

# What a file's first bytes say it is, whatever its name says.
_MAGIC = (
    (b"PK\x03\x04", "ZIP 压缩包（如 XLSX 工作簿）"),
    (b"\xd0\xcf\x11\xe0", "旧版 Office 文件（.xls/.doc），请在 Excel 中另存为 .xlsx"),
    (b"%PDF", "PDF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"\x1f\x8b", "gzip 压缩文件"),
)


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file that was read: the path as the user named it, the hash of its bytes, and the
    bytes (a load keeps them; no default, so that no reader can leave them out)."""

    path: str
    sha256: str
    size: int
    data: bytes = field(repr=False, compare=False)

    @classmethod
    def of(cls, path: str, data: bytes) -> InputFile:
        return cls(path, hashlib.sha256(data).hexdigest(), len(data), data)


# Spreadsheets of other programs, in a folder as named: refused with what to do, never skipped.
_SAVE_AS_XLSX = {
    ".xls": "旧版 Excel（.xls）不受支持，请在 Excel 中另存为 .xlsx",
    ".et": "WPS 表格文件（.et）不受支持，请在 WPS 中另存为 .xlsx（Excel 工作簿）",
    ".ett": "WPS 表格模板（.ett）不受支持，请在 WPS 中另存为 .xlsx（Excel 工作簿）",
    ".ods": "OpenDocument 表格（.ods）不受支持，请另存为 .xlsx（Excel 工作簿）",
    ".xlsm": "带宏的工作簿（.xlsm）不受支持，请另存为 .xlsx（Excel 工作簿）",
    ".xlsb": "二进制工作簿（.xlsb）不受支持，请另存为 .xlsx（Excel 工作簿）",
}


def discover(paths: Iterable[str], reading: Reading) -> list[Path]:
    """The files to read: named files, and every data file below named folders.

    In a folder, every file that is not read is named in `reading.skipped` with the reason;
    a symbolic link is followed only to a place inside the folder named (E006 otherwise), so
    a link cannot pull in, or hide, data from elsewhere.
    """
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            before = len(reading.problems)
            found = _walk(path, reading)
            files.extend(found)
            if not found and len(reading.problems) == before:
                reading.problem(Location(name), "E001",
                                f"文件夹中没有数据文件（{'、'.join(sorted(EXTENSIONS))}）")
        elif path.is_file():
            files.append(path)
        else:
            reading.problem(Location(name), "E001", "文件或文件夹不存在")
    return files


def _walk(root: Path, reading: Reading) -> list[Path]:
    real_root = root.resolve()
    seen = {real_root: root}  # folders entered, by real path: a link loop is entered once
    files: list[Path] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError as error:
            reading.problem(Location(str(folder)), "E001", f"文件夹无法读取：{os_reason(error)}")
            continue
        for child in children:
            if child.name.startswith((".", "~$")):
                why = "Excel/WPS 打开时的临时文件" if child.name.startswith("~$") else "隐藏文件"
                reading.skipped.append((str(child), why))
                continue
            if child.is_symlink():
                target = child.resolve()
                if not target.exists():
                    reading.problem(Location(str(child)), "E006",
                                    f"符号链接指向的 {os.readlink(child)} 不存在")
                    continue
                if not target.is_relative_to(real_root):
                    reading.problem(Location(str(child)), "E006",
                                    f"符号链接指向所给文件夹之外（{os.readlink(child)}），不会读取；"
                                    "如要读取，请直接给出该路径")
                    continue
            if child.is_dir():
                if child.resolve() in seen:
                    reading.skipped.append((str(child), f"与 {seen[child.resolve()]} 是同一个文件夹"))
                    continue
                seen[child.resolve()] = child
                folders.append(child)
            elif not child.is_file():
                reading.skipped.append((str(child), "不是普通文件"))
            elif child.suffix.lower() in EXTENSIONS or child.suffix.lower() in _SAVE_AS_XLSX:
                files.append(child)
            else:
                reading.skipped.append((str(child), f"不是数据文件（{child.suffix or '无扩展名'}），"
                                                    f"只读取 {'、'.join(sorted(EXTENSIONS))}"))
    # A file reached twice (directly and through a link) is read once, under its first name.
    first: dict[Path, Path] = {}
    for file in sorted(files):
        real = file.resolve()
        if real in first:
            reading.skipped.append((str(file), f"与 {first[real]} 是同一个文件"))
        else:
            first[real] = file
    return list(first.values())


# YAML and JSON are parsed whole, at about 25 times their size in memory: beyond this they are
# refused before a byte is read (docs/input.md). CSV and XLSX have no such cap.
MAX_DOCUMENT_BYTES = 128 * 2**20


def read_paths(paths: Iterable[str], reading: Reading,
               progress: Progress | None = None) -> list[InputFile]:
    """Read every file into `reading`; return what was read, with hashes, for the load record."""
    inputs = []
    files = discover(paths, reading)
    total = sum(_size(path) for path in files)
    done = 0
    for path in files:
        name = str(path)
        size = _size(path)
        if path.suffix.lower() in (".yaml", ".yml", ".json") and size > MAX_DOCUMENT_BYTES:
            reading.problem(Location(name), "E107",
                            f"文件有 {size / 2**20:,.0f} MB，YAML/JSON 最多 {MAX_DOCUMENT_BYTES // 2**20} MB："
                            "请改用 CSV（每类数据一个文件），或分成几个文件分批 luoshi load")
            continue
        try:
            data = path.read_bytes()
        except OSError as error:
            reading.problem(Location(name), "E001", f"无法读取：{os_reason(error)}")
            continue
        inputs.append(InputFile.of(name, data))
        read_bytes(name, data, reading)
        done += len(data)
        if progress:
            progress("读取", done, total)
    return inputs


def read_named(files: Iterable[tuple[str, bytes]], reading: Reading) -> list[InputFile]:
    """Read files given as (name, bytes), such as the portal's uploads, under their names:
    the names are what problems and stored records point at."""
    inputs = []
    for name, data in files:
        inputs.append(InputFile.of(name, data))
        read_bytes(name, data, reading)
    return inputs


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_bytes(name: str, data: bytes, reading: Reading) -> None:
    suffix = Path(name).suffix.lower()
    where = Location(name)
    if suffix in _SAVE_AS_XLSX:
        reading.problem(where, "E002", _SAVE_AS_XLSX[suffix])
        return
    if suffix not in EXTENSIONS:
        reading.problem(where, "E002", f"不支持的文件类型 {suffix or '（无扩展名）'}，"
                                       f"可用：{'、'.join(sorted(EXTENSIONS))}")
        return
    actual = next((what for magic, what in _MAGIC if data.startswith(magic)), None)
    if suffix in BINARY_READERS:
        if actual is None or not actual.startswith("ZIP"):
            seen = actual or ("文本文件" if _decode(data) is not None else "无法识别的二进制内容")
            reading.problem(where, "E003", f"扩展名为 .xlsx，但内容是{seen}，不是 XLSX 工作簿")
            return
        BINARY_READERS[suffix](name, data, reading)
        return
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        reading.problem(where, "E004", "文件是 UTF-16 编码，请另存为 UTF-8（CSV UTF-8）或 GB18030")
        return
    if actual is not None or b"\x00" in data[:8192]:
        hint = "；若是 Excel 工作簿，请把扩展名改为 .xlsx" if actual and actual.startswith("ZIP") else ""
        reading.problem(where, "E003",
                        f"扩展名为 {suffix}，但内容是{actual or '二进制数据'}，不是文本文件{hint}")
        return
    text = _decode(data)
    if text is None:
        reading.problem(where, "E004", "文本编码无法识别：应为 UTF-8（可带 BOM）或 GB18030/GBK")
        return
    TEXT_READERS[suffix](name, text, reading)


def _decode(data: bytes) -> str | None:
    """UTF-8 with or without BOM, else GB18030 (what Excel on a Chinese Windows saves)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None
