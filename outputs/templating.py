"""The one template environment every document is rendered with.

Notice templates are files the office edits (a Word document whose text holds `{{ … }}` tags,
or a `.j2` file), so a template is input, not code: it is rendered in Jinja2's sandbox
(`ImmutableSandboxedEnvironment`, a `SandboxedEnvironment` that also refuses to change lists
and dicts), which refuses attributes that start with `_` (`__class__`, `__globals__` …), the
functions behind them and any call that is not plainly safe. A template that tries is bad input:
T101 at the template file, exit status 2, nothing written.

Each format gets its escaping at the one place values enter it (`escape.py`): HTML and DOCX
autoescape, and `finalize` runs the format's escape function over every `{{ … }}` value.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from luoshi.facts.problems import InputError, Location, Problem
from luoshi.outputs import escape

# Per format: autoescape, and the function every `{{ … }}` value passes through first.
FINALIZE: dict[str, tuple[bool, Callable[[Any], Any]]] = {
    "html": (True, escape.text),
    "md": (False, escape.markdown),
    "docx": (True, escape.xml),
}


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, compiling each template text once: docxtpl hands it the same document XML
    for every notice, and compiling was most of the time of making thousands."""

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None):  # noqa: A002
        if globals is None and template_class is None and isinstance(source, str):
            return self._compiled(source)
        return super().from_string(source, globals, template_class)

    @functools.lru_cache(maxsize=64)  # noqa: B019 (environments live as long as the process)
    def _compiled(self, source: str) -> jinja2.Template:
        return super().from_string(source)


@functools.lru_cache(maxsize=8)
def environment(fmt: str) -> ImmutableSandboxedEnvironment:
    autoescape, finalize = FINALIZE[fmt]
    return _Sandbox(autoescape=autoescape, finalize=finalize, keep_trailing_newline=True,
                    undefined=jinja2.StrictUndefined)


@contextmanager
def refusing(template: Path | str) -> Iterator[None]:
    """Whatever goes wrong inside a template is the template's fault: T101 at its file
    (and line, where Jinja knows it), never a traceback."""
    try:
        yield
    except jinja2.exceptions.SecurityError as error:
        raise InputError([Problem(Location(str(template)), "T101",
                                  f"模板试图访问程序内部（{error}），已拒绝：模板只能使用文书的字段")]) from None
    except jinja2.TemplateSyntaxError as error:
        raise InputError([Problem(Location(str(template), error.lineno), "T101",
                                  f"模板语法错误：{error.message}")]) from None
    except jinja2.UndefinedError as error:
        raise InputError([Problem(Location(str(template)), "T101",
                                  f"模板使用了不存在的字段：{error.message}")]) from None
    except jinja2.TemplateError as error:
        raise InputError([Problem(Location(str(template)), "T101", f"模板错误：{error}")]) from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as error:
        # An expression in the template that fails on the document's values.
        raise InputError([Problem(Location(str(template)), "T101",
                                  f"模板中的表达式无法计算：{type(error).__name__}: {error}")]) from None


def render_text(template: Path, fmt: str, context: dict[str, Any]) -> str:
    with refusing(template):
        return environment(fmt).from_string(template.read_text(encoding="utf-8")).render(context)


def render_docx(template: Path, context: dict[str, Any]) -> bytes:
    from docx.opc.exceptions import OpcError
    from docxtpl import DocxTemplate

    document = DocxTemplate(str(template))
    try:
        document.render_init()
    except (OSError, OpcError, zipfile.BadZipFile) as error:  # not a Word file, or broken
        raise InputError([Problem(Location(str(template)), "T101",
                                  f"无法读取 DOCX 模板：{error}")]) from None
    with refusing(template):
        document.render(context, jinja_env=environment("docx"), autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
