"""From paths to raw records: which files to read, what they really are, and who reads them.

Readers are registered by file extension. Before a reader sees a file, its first bytes are
checked against what the extension promises, so a workbook saved as `.csv`, an old `.xls`
or random bytes get a sentence a user understands instead of a parser's complaint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .json_reader import read_json
from .problems import Location, Progress
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
    """A file that was read: the path as the user named it, and the hash of its bytes."""

    path: str
    sha256: str
    size: int


def discover(paths: Iterable[str], reading: Reading) -> list[Path]:
    """The files to read: named files, and every data file below named folders."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                hidden = any(part.startswith((".", "~$")) for part in child.relative_to(path).parts)
                if child.is_file() and not hidden and child.suffix.lower() in EXTENSIONS | {".xls"}:
                    files.append(child)
        elif path.is_file():
            files.append(path)
        else:
            reading.problem(Location(name), "E001", "文件或文件夹不存在")
            continue
        if path.is_dir() and not any(f.is_relative_to(path) for f in files):
            reading.problem(Location(name), "E001",
                            f"文件夹中没有数据文件（{'、'.join(sorted(EXTENSIONS))}）")
    return files


def read_paths(paths: Iterable[str], reading: Reading,
               progress: Progress | None = None) -> list[InputFile]:
    """Read every file into `reading`; return what was read, with hashes, for the load record."""
    inputs = []
    files = discover(paths, reading)
    total = sum(_size(path) for path in files)
    done = 0
    for path in files:
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            reading.problem(Location(name), "E001", f"无法读取：{error.strerror}")
            continue
        inputs.append(InputFile(name, hashlib.sha256(data).hexdigest(), len(data)))
        read_bytes(name, data, reading)
        done += len(data)
        if progress:
            progress("读取", done, total)
    return inputs


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_bytes(name: str, data: bytes, reading: Reading) -> None:
    suffix = Path(name).suffix.lower()
    where = Location(name)
    if suffix == ".xls":
        reading.problem(where, "E002", "旧版 Excel（.xls）不受支持，请在 Excel 中另存为 .xlsx")
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
