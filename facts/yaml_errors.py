"""PyYAML's and libyaml's error messages, in the words of a unit's clerk.

The parser says "mapping values are not allowed in this context" (libyaml) or "... here" (PyYAML
without libyaml); a clerk needs to read what to change. Facts (E101), policy (P101) and waiver
(W101) files share this one table. A message the table does not know is still Chinese first,
with the parser's words in parentheses for IT staff.
"""

from __future__ import annotations

import re

import yaml

# (pattern of the parser's problem, Chinese): libyaml's wording and PyYAML's, whichever runs.
_PROBLEMS: tuple[tuple[str, str], ...] = (
    (r"mapping values are not allowed", "此处不能再写“键: 值”：值中含有“: ”时请给整个值加引号"
                                        "（如 名称: \"甲: 乙\"），否则请检查缩进"),
    (r"(block )?sequence entries are not allowed", "此处不能开始列表项“- ”：请检查缩进是否与上一项对齐"),
    (r"mapping keys are not allowed", "此处不能开始以 ? 开头的键：以 ? 开头的文本请加引号"),
    (r"found a tab character|found character '\\t'", "缩进中有制表符（Tab）：YAML 的缩进只能用空格"),
    (r"found character .*cannot start any token", "CHAR"),  # says which character, below
    (r"did not find expected key|expected <block end>", "此处应为“键: 值”：请检查缩进是否与上面的键对齐，"
                                                       "或是否缺少冒号"),
    (r"did not find expected '-' indicator", "此处应为列表项“- ”：请检查缩进是否与上面的列表项对齐"),
    (r"did not find expected ',' or '}'|expected ',' or '}'", "缺少逗号或右花括号 }：花括号没有闭合，"
                                                            "或两项之间缺少逗号"),
    (r"did not find expected ',' or '\]'|expected ',' or '\]'", "缺少逗号或右方括号 ]：方括号没有闭合，"
                                                              "或两项之间缺少逗号"),
    (r"could not find expected ':'", "缺少冒号：键之后应有“: ”（冒号后加一个空格），且键不能跨行"),
    (r"found unexpected ':'", "值中含有冒号：请给整个值加引号"),
    (r"found unexpected end of stream", "文件意外结束"),
    (r"found unexpected document (indicator|separator)", "文本中间出现了行首的 --- 或 ...：是否有引号没有闭合？"),
    (r"found unknown escape character", "双引号中的反斜杠 \\ 之后不是有效的转义符：含反斜杠的文本"
                                        "（如文件夹路径）请改用单引号括起"),
    (r"found invalid Unicode character escape|expected escape sequence", "双引号中的 \\x、\\u 或 \\U "
                                                                        "之后不是有效的十六进制编码"),
    (r"did not find expected node content|expected the node content", "此处应有一个值"),
    (r"did not find expected <document start>|expected '<document start>'",
     "文件的内容在此之前已经结束，后面多出的内容无法归属：请检查缩进"),
    (r"(found|could not find expected|did not find expected) (unknown directive|duplicate %|"
     r"incompatible YAML|directive name|version number|digit or '\.')|found extremely long version"
     r"|found unexpected non-alphabetical|found duplicate (YAML|tag)|found incompatible",
     "以 % 开头的行是 YAML 指令，不受支持：以 % 开头的文本请加引号"),
    (r"found undefined tag handle|did not find (the )?expected ('>'|'!'|tag URI|hexdecimal)"
     r"|did not find URI escaped|found an incorrect (leading|trailing) UTF-8|expected URI"
     r"|expected '!'|expected '>'|found non-specific tag",
     "不支持的 YAML 类型标签（以 ! 开头），请去掉它，按普通文本书写"),
    (r"did not find expected alphabetic or numeric|expected alphabetic or numeric",
     "& 与 * 在 YAML 中表示锚点与别名：以 & 或 * 开头的文本请加引号"),
    (r"found an indentation indicator equal to 0|expected indentation indicator"
     r"|expected chomping or indentation", "多行文本标记 | 或 > 之后的缩进数应为 1 到 9"),
    (r"did not find expected (comment or line break|whitespace)|expected a comment or a line break"
     r"|expected ' '", "此处应换行：这一行在值结束之后还有内容（是否少了引号？）"),
    (r"exceeded maximum nesting depth", "嵌套层次过深"),
)
_COMPILED = tuple((re.compile(pattern), chinese) for pattern, chinese in _PROBLEMS)

# What was open when the parser stopped, for the messages where it is the real cause.
_CONTEXTS = (
    ("quoted scalar", "引号"),
    ("flow mapping", "花括号 { "),
    ("flow sequence", "方括号 [ "),
)

_SPECIAL = "@`%|>!&*?"  # characters that begin YAML syntax, not text


def _character(text: str, index: int) -> str:
    char = text[index] if 0 <= index < len(text) else ""
    if char and char in _SPECIAL:
        return (f"以 {char} 开头的值必须加引号（{char} 在 YAML 中有特殊含义），"
                f"如 \"{char}…\"")
    if char == "\t":
        return "缩进中有制表符（Tab）：YAML 的缩进只能用空格"
    return f"字符 {char!r} 不能作为一个值的开头：请给这个值加引号" if char else "此处的字符无法识别"


def describe(error: yaml.YAMLError, text: str) -> tuple[int, int | None, str]:
    """The 1-based line and column where `error` was found in `text`, and a Chinese message."""
    if isinstance(error, yaml.reader.ReaderError):
        # Its position counts bytes under libyaml and characters without it; the reader stops at
        # the first unacceptable character, so finding that character gives both.
        index = text.find(chr(error.character)) if isinstance(error.character, int) else -1
        line, column = _line_column(text, index) if index >= 0 else (1, None)
        code = error.character if isinstance(error.character, int) else 0
        return line, column, (f"文本含 YAML 不允许的字符 U+{code:04X}（控制字符或非字符），"
                              "请删除它")
    if not isinstance(error, yaml.MarkedYAMLError):
        return 1, None, f"YAML 无法读取（{error}）"
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, None)
    problem = error.problem or error.context or ""
    chinese = next((words for pattern, words in _COMPILED if pattern.search(problem)), None)
    if chinese == "CHAR":
        chinese = _character(text, mark.index if mark else -1)
    if chinese is None:
        return line, column, f"YAML 语法有误（{problem}）"
    context = error.context or ""
    opened = next((words for name, words in _CONTEXTS if name in context), None)
    if opened and error.context_mark is not None and error.problem_mark is not None:
        start = error.context_mark
        if "end of stream" in problem:
            chinese = f"{opened.strip()}没有闭合，文件就结束了"
        chinese += f"（{opened}从第 {start.line + 1} 行第 {start.column + 1} 列开始）"
    return line, column, chinese


def _line_column(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1
