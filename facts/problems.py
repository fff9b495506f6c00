"""Where a record came from, and what is wrong with the input.

Every record keeps its `Location` from the first parse, so that input errors now and findings
later point at `file:line` (or `file:sheet!row` in a workbook). A `Problem` is one input error,
printed as `path:line[:col]: kind.field: CODE message`; the codes are documented in
docs/errors.md (a test keeps the two in step).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Every error code a user can meet, with the one-line title docs/errors.md explains.
CODES: dict[str, str] = {
    "E001": "文件不存在或无法读取",
    "E002": "不支持的文件类型",
    "E003": "文件内容与扩展名不符",
    "E004": "文本编码无法识别",
    "E005": "文件为空",
    "E006": "符号链接指向所给文件夹之外或不存在",
    "E101": "YAML 语法错误",
    "E102": "JSON 语法错误",
    "E103": "CSV 格式错误",
    "E104": "XLSX 工作簿无法打开",
    "E105": "嵌套过深",
    "E106": "不支持 YAML 锚点与别名",
    "E107": "文件超出大小上限",
    "E201": "文件顶层应为以数据类别为键的映射",
    "E202": "未知的数据类别",
    "E203": "数据类别的内容应为记录列表",
    "E204": "记录应为字段映射",
    "E205": "表头缺失",
    "E206": "合并单元格",
    "E301": "未知字段",
    "E302": "字段重复",
    "E303": "缺少必填字段",
    "E304": "类型错误",
    "E305": "取值不在可选范围内",
    "E306": "日期无效",
    "E307": "是否值无效",
    "E308": "文本含控制字符、无效字符或换行",
    "E309": "数值超出可存储的范围",
    "E401": "编号或记录重复",
    "E501": "引用的编号不存在",
    "E502": "记录不属于报送单位",
    "E601": "数据库无法连接或写入",
    "E602": "数据库不是这个 luoshi 的",
    "E603": "哈希链已断，不予记录",
    "P101": "策略文件无法读取或语法错误",
    "P201": "策略文件结构错误",
    "P301": "策略表达式错误",
    "P302": "策略引用了未知的类别、字段、别名或参数",
    "P401": "规则编号重复",
    "P402": "改变自带的术语或参数而未在 override 中写明",
    "P501": "规则无法编译到规则引擎",
    "C001": "命令参数错误",
    "C002": "输出文件无法写入",
    "C003": "数据库中的记录已损坏",
    "W101": "豁免文件错误",
    "T101": "文书模板错误或试图访问程序内部",
}


def column_letter(number: int) -> str:
    """1 → A, 9 → I, 27 → AA: a spreadsheet column as its letters."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Location:
    """A place in an input file: a line (YAML/JSON/CSV) or a sheet and row (XLSX)."""

    path: str
    line: int | None = None
    col: int | None = None
    sheet: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.path if self.sheet is None else f"{self.path}:{self.sheet}"
        if self.sheet is not None:  # a cell as Excel names it (单位!C5), or a row (单位!5)
            return f"{self.path}:{self.sheet}!{column_letter(self.col) if self.col else ''}{self.line}"
        return f"{self.path}:{self.line}" + (f":{self.col}" if self.col else "")

    def at(self, line: int | None = None, col: int | None = None) -> Location:
        return Location(self.path, self.line if line is None else line, col, self.sheet)

    def sort_key(self) -> tuple:
        return (self.path, self.sheet or "", self.line or 0, self.col or 0)


@dataclass(frozen=True, slots=True)
class Problem:
    where: Location
    code: str
    message: str
    kind: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        assert self.code in CODES, self.code

    def __str__(self) -> str:
        subject = self.kind or ""
        if self.field:
            subject += f".{self.field}"
        prefix = f"{self.where}: " + (f"{subject}: " if subject else "")
        return printable(f"{prefix}{self.code} {self.message}")


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")


def printable(text: str) -> str:
    """One line a terminal shows as it is: control characters (which could move the cursor or
    forge a line) and lone surrogates (which cannot be written out) as visible escapes."""
    return _UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}" if ord(found.group()) < 256
                            else f"\\u{ord(found.group()):04x}", text)


# The operating system's reasons (English whatever the locale a service runs in), in Chinese;
# the original follows in parentheses for IT staff.
_OS_REASONS = {
    errno.ENOENT: "文件或文件夹不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.EISDIR: "这是一个文件夹，不是文件",
    errno.ENOTDIR: "路径中有一段不是文件夹",
    errno.ENOSPC: "磁盘已满",
    errno.EROFS: "文件系统只读",
    errno.ELOOP: "符号链接循环",
    errno.ENAMETOOLONG: "文件名过长",
    errno.EIO: "磁盘读写错误",
    errno.EMFILE: "打开的文件过多",
    errno.EEXIST: "已存在同名文件",
}


def os_reason(error: OSError) -> str:
    """Why a file could not be read or written, Chinese first."""
    chinese = _OS_REASONS.get(error.errno or 0, "操作系统拒绝了这次读写")
    return f"{chinese}（{error.strerror or type(error).__name__}）"


# Reports work done: (step, done, total), e.g. ("读取", bytes read, bytes to read). Steps are
# 读取 (bytes), 校验 and 写入 (records). The command line turns it into progress bars.
Progress = Callable[[str, int, int], None]


class StoreError(Exception):
    """The database could not be reached or written; nothing was stored."""

    code = "E601"


# Problems kept of one input: a 20 MB table with a wrong value in every row has a million of
# them (a refused upload held 3 GB); past this many they are counted, not kept.
MAX_PROBLEMS = 10_000


class Problems(list[Problem]):
    """Problems as they are found: the first `MAX_PROBLEMS` kept, every one counted (`total`)."""

    def __init__(self, limit: int | None = None) -> None:
        super().__init__()
        self.limit = MAX_PROBLEMS if limit is None else limit
        self.total = 0

    def append(self, problem: Problem) -> None:
        self.total += 1
        if len(self) < self.limit:
            super().append(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.append(problem)


class InputError(Exception):
    """Raised with every problem found, once a whole input has been read; `total` counts
    those past the ones kept (`Problems`)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = sorted(problems, key=lambda problem: problem.where.sort_key())
        self.total = max(getattr(problems, "total", 0), len(problems))


class DamagedRecord(InputError):
    """A stored load or run whose fields lost their shape (edited by hand in SQL), by name
    ("检查记录 3", "导入 5"): readers name it instead of failing on it."""

    def __init__(self, name: str) -> None:
        super().__init__([Problem(Location(name), "C003",
                                  "数据库中的这条记录已损坏（字段缺失、类型不对或不是有效的 JSON，"
                                  "可能在 luoshi 之外被改过），无法显示、比较或复算；"
                                  "请用 luoshi verify 查看")])
        self.name = name
