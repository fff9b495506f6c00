"""Writing documents (notices.py) to files through editable templates.

`--format md|html` use the Jinja2 templates `document.<fmt>.j2` and `index.<fmt>.j2`; `docx`
uses the docxtpl templates `document.docx` and `index.docx` (Word files with `{{ … }}` tags,
so the office can restyle them in Word or WPS). Templates are looked up first in the folder
given with `--templates`, then among the bundled ones in `outputs/templates/`.
"""

from __future__ import annotations

import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from luoshi.facts.problems import InputError, Location, Problem, os_reason
from luoshi.outputs import templating
from luoshi.outputs.notices import Document

FORMATS = ("docx", "html", "md")
TEMPLATE_NAMES = ("document.docx", "index.docx", "document.html.j2", "index.html.j2",
                  "document.md.j2", "index.md.j2")


def _template(name: str, folder: Path | None) -> Path:
    if folder is not None and (folder / name).exists():
        return folder / name
    return Path(str(resources.files("luoshi.outputs").joinpath("templates", name)))


def write(documents: list[Document], out: Path, fmt: str, summary: str,
          templates: Path | None = None) -> list[Path]:
    """Every document and an index, in `out`; returns the files written (index last).
    They are written to a hidden folder beside `out` and moved in when all are done: a
    template refused on the fifth document leaves no four documents behind, and thousands of
    documents are not held in memory."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(20, "不是文件夹", str(out))
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as error:
        raise _unwritable(out, error) from None
    try:
        names = []
        items = []
        for position, document in enumerate(documents, start=1):
            name = f"{document.file_stem}.{fmt}"
            (staging / name).write_bytes(_render(fmt, "document", document.context(), templates))
            names.append(name)
            items.append({"position": position, "kind_title": document.kind_title,
                          "number": document.number, "title": document.title,
                          "addressee": document.addressee.rstrip("："), "file": name})
        index = {"title": "发文目录", "summary": summary, "items": items}
        names.append(f"index.{fmt}")
        (staging / names[-1]).write_bytes(_render(fmt, "index", index, templates))
        out.mkdir(exist_ok=True)
        for name in names:
            (staging / name).replace(out / name)
    except OSError as error:
        raise _unwritable(out, error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / name for name in names]


def render(document: Document, fmt: str, templates: Path | None = None) -> bytes:
    """One document in `fmt` (the portal's download)."""
    return _render(fmt, "document", document.context(), templates)


def _unwritable(out: Path, error: OSError) -> InputError:
    return InputError([Problem(Location(str(out)), "C001",
                               f"无法写入输出文件夹：{os_reason(error)}")])


def _render(fmt: str, name: str, context: dict[str, Any], templates: Path | None) -> bytes:
    if fmt == "docx":
        return templating.render_docx(_template(f"{name}.docx", templates), context)
    source = _template(f"{name}.{fmt}.j2", templates)
    return templating.render_text(source, fmt, context).encode("utf-8")
