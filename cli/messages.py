"""The one place where the command-line parser's English becomes Chinese.

typer (with its vendored click) writes usage errors and help pages in English. Rather than
patching strings across the parser, every usage error is rewritten here from the exception's
own fields, and every help page goes through `help_text`. Values a user typed are quoted back
with control characters escaped, so a crafted argument cannot write to the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from rich.cells import cell_len
from typer._click import exceptions as click_errors

# Help pages: the parser's headings and notes, in the order they appear.
_HELP = (
    ("Usage: ", "用法："),
    ("[OPTIONS]", "[选项]"),
    ("COMMAND [ARGS]...", "命令 [参数]..."),
    ("\nArguments:\n", "\n参数：\n"),
    ("\nOptions:\n", "\n选项：\n"),
    ("\nCommands:\n", "\n命令：\n"),
    ("Show this message and exit.", "显示此帮助并退出。"),
    ("[required]", "[必填]"),
    ("[default: ", "[默认："),
)
# Value placeholders: padded to the English one's width, so the help columns stay aligned.
_METAVARS = {"<int range>": "整数", "<float range>": "数值", "<list[str]>": "文本", "<list[path]>": "路径", "<str>": "文本", "<int>": "整数",
             "<float>": "数值", "<path>": "路径"}

# pydantic's error types, as typer reports a value it could not convert.
_VALUE_ERRORS = {
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数值",
    "float_type": "应为数值",
    "bool_parsing": "应为 true 或 false",
    "finite_number": "应为有限的数值",
}
_BOUNDS = {"greater_than_equal": ("ge", "不应小于"), "less_than_equal": ("le", "不应大于"),
           "greater_than": ("gt", "应大于"), "less_than": ("lt", "应小于")}


def help_text(text: str) -> str:
    for english, chinese in _HELP:
        text = text.replace(english, chinese)
    for english, chinese in _METAVARS.items():
        text = text.replace(english, chinese + " " * (len(english) - cell_len(chinese)))
    return re.sub(r" +\n", "\n", text)


def first_sentence(text: str, limit: int = 36) -> str:
    """A command's help up to its first full stop, at most `limit` characters: what zsh and
    fish show beside a completed command (click cuts Chinese, which has no spaces, to "...")."""
    sentence = " ".join(text.split()).split("。")[0]
    return sentence if len(sentence) <= limit else sentence[:limit - 1] + "…"


def shown(value: Any) -> str:
    """A value the user typed, quoted, with control characters made visible."""
    text = str(value)
    text = text if len(text) <= 60 else text[:60] + "…"
    return repr(text)


def _hint(error: click_errors.BadParameter) -> str:
    if error.param_hint is not None:
        hints = [error.param_hint] if isinstance(error.param_hint, str) else error.param_hint
        return " / ".join(str(hint) for hint in hints)
    if error.param is not None:
        opts = getattr(error.param, "opts", None) or [error.param.name or ""]
        return " / ".join(opts) if getattr(error.param, "param_type_name", "") == "option" \
            else (error.param.name or "").upper()
    return ""


def _bad_value(error: click_errors.BadParameter) -> str:
    """Why a value was refused: from pydantic's error where typer kept it, else the text."""
    cause = error.__cause__
    details = cause.errors() if cause is not None and hasattr(cause, "errors") else []
    if details:
        detail = details[0]
        kind, context = detail["type"], detail.get("ctx") or {}
        given = shown(detail.get("input", ""))
        if kind in _VALUE_ERRORS:
            return f"{given} {_VALUE_ERRORS[kind]}"
        if kind in _BOUNDS:
            key, words = _BOUNDS[kind]
            return f"{given} {words} {context.get(key)}"
        if kind in ("enum", "literal_error"):
            return f"{given} 应为 {context.get('expected', '')} 之一"
    message = error.message
    for english, chinese in _PATH_ERRORS:
        match = re.match(english, message)
        if match:
            return chinese.format(*match.groups())
    return message


_PATH_ERRORS = (
    (r"(?:File|Directory|Path) '(.*)' does not exist\.$", "{} 不存在"),
    (r"(?:File|Directory|Path) '(.*)' is a directory\.$", "{} 是文件夹，应为文件"),
    (r"(?:File|Directory|Path) '(.*)' is a file\.$", "{} 是文件，应为文件夹"),
    (r"(?:File|Directory|Path) '(.*)' is not readable\.$", "{} 没有读取权限"),
    (r"(?:File|Directory|Path) '(.*)' is not writable\.$", "{} 没有写入权限"),
    (r"Value (.*) is not a valid (.*)\.$", "{} 不是有效的 {}"),
)


def usage_message(error: click_errors.UsageError) -> str:
    """A usage error's sentence, in Chinese."""
    if isinstance(error, click_errors.NoSuchOption):
        close = f"，是否应为 {'、'.join(sorted(error.possibilities))}？" if error.possibilities else ""
        return f"没有选项 {shown(error.option_name)}{close}"
    if isinstance(error, click_errors.MissingParameter):
        what = {"option": "选项", "argument": "参数"}.get(
            str(error.param_type or getattr(error.param, "param_type_name", "")), "参数")
        return f"缺少{what} {_hint(error)}"
    if isinstance(error, click_errors.BadParameter):
        return f"{_hint(error)} 的值无效：{_bad_value(error)}"
    message = error.message
    if isinstance(error, click_errors.BadOptionUsage):
        if "requires" in message:
            return f"选项 {error.option_name} 需要一个值"
        if "does not take a value" in message:
            return f"选项 {error.option_name} 不接受值"
    match = re.match(r"No such command '(.*?)'\.(?: Did you mean (.*)\?)?$", message)
    if match:
        close = f"，是否应为 {match.group(2).replace(', ', '、')}？" if match.group(2) else ""
        return f"没有命令 {shown(match.group(1))}{close}"
    match = re.match(r"Got unexpected extra argument\(s\) \((.*)\)$", message)
    if match:
        return f"多余的参数：{match.group(1)}"
    if message == "Missing command.":
        return "缺少命令"
    match = re.match(r"Argument '(.*)' takes (\d+) values\.$", message)
    if match:
        return f"参数 {match.group(1)} 需要 {match.group(2)} 个值"
    return f"命令用法错误：{message}"


def usage_report(error: click_errors.UsageError) -> str:
    """What a usage error prints: the usage line, the sentence, and where to find help."""
    lines = []
    if error.ctx is not None:
        lines.append(help_text(error.ctx.get_usage()))
        lines.append(f"错误：{usage_message(error)}")
        lines.append(f"运行 {error.ctx.command_path} -h 查看帮助。")
    else:
        lines.append(f"错误：{usage_message(error)}")
    return "\n".join(lines)
