"""One escaping function per output format, applied where a value enters that format.

Values come from submitted data (unit names, titles, problems, file paths) and from policies
(rule titles, messages): none of them may forge structure in what we write. Each format has
exactly one function here, and the writers call it at the one place values enter:

| format | where | function |
|---|---|---|
| Markdown (`check --format markdown`, notices `.md`) | every cell and every `{{ }}` of the templates (Jinja `finalize`) | `markdown` |
| GitHub annotations | the message, and each `key=value` property | `annotation_message`, `annotation_property` |
| JUnit XML | every attribute and text (ElementTree escapes `<>&"` itself) | `xml` |
| HTML (report, notices `.html`) | Jinja autoescape, after `finalize` = `text` | `text` |
| terminal (Rich) | every cell and every value printed: a `rich.text.Text`, never parsed as markup | `terminal` |
| DOCX (docxtpl) | every `{{ }}` (Jinja `finalize`), then docxtpl's XML autoescape | `xml` |

`text` is the base of all of them: it drops terminal escape sequences and every control character
but tab and line break (a form feed would become a page break in Word, a NUL makes XML
unreadable), and characters XML 1.0 cannot hold (lone surrogates, U+FFFE/U+FFFF). Single-line
places (a table cell, an annotation title) also fold line breaks into spaces.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup
from rich.text import Text

# ESC [ … final byte (CSI), ESC ] … BEL/ST (OSC), and any other ESC + one character.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|\x9b[0-?]*[ -/]*[@-~]")
# C0 controls but tab, LF, CR; DEL and C1; what XML 1.0 cannot hold.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")
_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]{}<>|~!#&])")
_MARKDOWN_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")


def text(value: Any) -> Any:
    """Without escape sequences and control characters; markup we made ourselves (an SVG
    marked safe) and non-text values pass unchanged."""
    if isinstance(value, Markup) or not isinstance(value, str):
        return value
    return _CONTROL.sub("", _ANSI.sub("", value))


def one_line(value: Any) -> str:
    """`text`, with line breaks folded into spaces: for cells, titles and properties."""
    if value is None:
        return ""
    return _LINE_BREAK.sub(" ", text(str(value)))


def markdown(value: Any) -> str:
    """Markdown (CommonMark and GitHub's): every character that could start emphasis, code,
    a link, an HTML tag, a table cell or a heading is backslash-escaped, and a line break
    cannot start a new block."""
    if value is None:
        return ""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", one_line(value))
    return _MARKDOWN_LINE_START.sub(r"\1\\\2", escaped)


def annotation_message(value: Any) -> str:
    """The message of a GitHub workflow command (`::error …::message`)."""
    return (one_line(value) if value is not None else "").replace("%", "%25")


def annotation_property(value: Any) -> str:
    """A property value of a workflow command (`file=…,title=…`): `:` and `,` end it."""
    return annotation_message(value).replace(":", "%3A").replace(",", "%2C")


def xml(value: Any) -> Any:
    """What XML 1.0 can hold (ElementTree and docxtpl escape `<`, `>`, `&` and quotes)."""
    return text(value)


def terminal(value: Any, style: str = "") -> Text:
    """A terminal cell: a `Text`, so `[bold]` or `[/]` in a unit name is printed as it is,
    never read as Rich markup; escape sequences cannot move the cursor or recolour."""
    return Text(one_line(value), style=style)
